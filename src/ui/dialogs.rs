//! The windows over the screen: the marks list, the Rewind dialog and the Compensate
//! dialog. Everything from the cluster goes through `text::clean`.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::groups::state_style;
use super::{selectable, short_time, text, theme};
use crate::app::{
    hint_line, keys_for, Action, App, CompensateDialog, OutcomeView, Overlay, Place, RewindDialog,
    RewindStep,
};
use crate::model::mark::Mark;
use crate::model::plan::{Plan, TimeSource};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    match &app.overlay {
        None => {}
        Some(Overlay::Help) => super::help::draw(frame, area),
        Some(Overlay::Marks { selected }) => draw_marks(frame, area, app, *selected),
        Some(Overlay::Rewind(dialog)) => draw_rewind(frame, area, app, dialog),
        Some(Overlay::Compensate(dialog)) => draw_compensate(frame, area, app, dialog),
    }
}

/// A cleared, bordered window of at most `width` × `height` in the middle of `area`.
fn window(frame: &mut Frame, area: Rect, width: u16, height: u16, title: String) -> Rect {
    let area = super::centered(area, width, height);
    let block = Block::bordered()
        .title(title)
        .border_style(theme::border(true));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    inner
}

fn hint(text: &str) -> Line<'static> {
    Line::styled(text.to_owned(), theme::dim())
}

fn mark_label(m: &Mark) -> String {
    format!(
        "{} {} {} {} {}",
        text::clean(&m.topic),
        m.coord(),
        m.timestamp.map(short_time).unwrap_or_default(),
        text::clean(&m.event_type),
        text::clean(&m.aggregate)
    )
}

fn draw_marks(frame: &mut Frame, area: Rect, app: &App, selected: usize) {
    let inner = window(
        frame,
        area,
        90,
        app.marks.len() as u16 + 6,
        format!(" Marks ({}) ", app.marks.len()),
    );
    let [list, help] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    frame.render_widget(Paragraph::new(hint(&hint_line(Place::Marks))), help);
    if app.marks.is_empty() {
        frame.render_widget(
            Paragraph::new("No marks yet: press m on an event to mark it."),
            list,
        );
        return;
    }
    let header = Row::new(["", "TOPIC", "P/O", "TIME", "TYPE", "AGGREGATE"].map(Cell::from))
        .style(theme::heading());
    let rows = app.marks.iter().map(|m| {
        // A mark whose event the log no longer holds: a rewind to it is clamped.
        let gone = app.mark_gone(m).is_some();
        let row = Row::new(vec![
            Cell::from(if gone { "gone" } else { "" }).style(theme::warning()),
            Cell::from(text::clean(&m.topic)),
            Cell::from(m.coord().to_string()),
            Cell::from(m.timestamp.map(short_time).unwrap_or_default()),
            Cell::from(text::clean(&m.event_type)),
            Cell::from(text::clean(&m.aggregate)),
        ]);
        match gone {
            true => row.style(theme::dim()),
            false => row,
        }
    });
    let widths = [
        Constraint::Length(4),
        Constraint::Length(16),
        Constraint::Length(10),
        Constraint::Length(14),
        Constraint::Length(22),
        Constraint::Min(10),
    ];
    let mut state = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(
        selectable(Table::new(rows, widths).header(header).column_spacing(1)),
        list,
        &mut state,
    );
}

fn draw_rewind(frame: &mut Frame, area: Rect, app: &App, dialog: &RewindDialog) {
    let title = format!(
        " Rewind a consumer group to {} ",
        mark_label(&dialog.target)
    );
    let inner = window(
        frame,
        area,
        area.width.saturating_sub(4),
        area.height.saturating_sub(2),
        title,
    );
    match &dialog.step {
        RewindStep::PickGroup => draw_pick_group(frame, inner, dialog),
        RewindStep::Candidate { typed, error } => {
            let mut lines = vec![
                Line::raw(format!(
                    "A candidate logic file: a rewind.toml whose [[topics]] entry for {} has the fixed reducers, upcasters or invariants. The plan's outcome then models the consumer after the rewind with it (as `rewind reset --with FILE`).",
                    text::clean(&dialog.target.topic)
                )),
                Line::raw(""),
                Line::from(vec![
                    Span::styled("Candidate file: ", theme::heading()),
                    Span::raw(text::clean(typed)),
                    Span::raw("█"),
                ]),
            ];
            if let Some(e) = error {
                lines.push(Line::styled(format!("✗ {}", text::clean(e)), theme::error()));
            }
            lines.push(Line::raw(""));
            lines.push(hint(&hint_line(Place::Candidate)));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        RewindStep::Planning { group, .. } => frame.render_widget(
            Paragraph::new(format!("Planning the rewind of {}: reading offsets and the events at the targets…", text::clean(group))),
            inner,
        ),
        RewindStep::Plan { plan, status, typed, allow_unknown, outcome } => {
            let state = &status.state;
            let mut lines = vec![Line::from(vec![
                Span::raw(format!(
                    "Group {} ({}), state ",
                    text::clean(&plan.group),
                    status.kind.name()
                )),
                Span::styled(state.name().to_owned(), state_style(state)),
                Span::raw(format!(
                    ":  {} on {} from {}",
                    plan.scope_label(),
                    text::clean(&plan.topic),
                    plan.time.map(short_time).unwrap_or_default()
                )),
            ])];
            lines.extend(plan_lines(plan, status.kind, app));
            let file = dialog.candidate.as_ref().map(|(file, _)| file.as_str());
            lines.push(Line::raw(""));
            lines.extend(outcome_lines(outcome, file, &plan.topic));
            lines.push(Line::raw(""));
            match dialog.blocked(app.read_only) {
                Some(why) => lines.push(Line::styled(format!("✗ {why}"), theme::error())),
                None => lines.push(Line::from(vec![
                    Span::styled("Type the group's name to commit: ", theme::heading()),
                    Span::raw(text::clean(typed)),
                    Span::raw("█"),
                ])),
            }
            let unknown = matches!(state, crate::model::group::GroupState::Unknown(_));
            let tab = keys_for(&[Action::NextPane], true);
            lines.push(hint(&match (unknown, allow_unknown) {
                (false, _) => hint_line(Place::Commit),
                (true, now) => format!(
                    "{}  {tab} allow unknown state (now: {})",
                    hint_line(Place::Commit),
                    if *now { "allowed" } else { "refused" }
                ),
            }));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        RewindStep::Executing { group, .. } => frame.render_widget(
            Paragraph::new(format!("Committing {}'s offsets: checking its state again, writing the undo file, committing, reading back…", text::clean(group))),
            inner,
        ),
        RewindStep::Done {
            rewound: done,
            watch: (_, watch),
        } => {
            let mut lines = vec![Line::styled(
                format!("✓ Rewound {} on {}.", text::clean(&done.group), text::clean(&done.topic)),
                theme::success(),
            )];
            lines.push(Line::raw(format!("Written with {}.", done.written_with.label())));
            if done.mismatches.is_empty() {
                lines.push(Line::raw("The offsets read back match the plan."));
            }
            for (p, want, got) in &done.mismatches {
                lines.push(Line::styled(
                    format!("partition {p}: committed {want}, reads back {}", got.map_or("nothing".into(), |g| g.to_string())),
                    theme::error(),
                ));
            }
            lines.push(watch_line(watch));
            lines.push(Line::raw(format!("Undo file: {}", text::clean(&done.undo_file.display().to_string()))));
            lines.push(Line::raw(format!(
                "Undo: {}",
                text::clean(&crate::model::plan::undo_command(&done.group, &done.topic, &done.undo_file, done.allow_unknown))
            )));
            lines.push(Line::raw(""));
            lines.push(hint(&hint_line(Place::Outcome)));
            frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        }
        RewindStep::Failed(e) => frame.render_widget(
            Paragraph::new(vec![
                Line::styled(format!("✗ {}", text::clean(e)), theme::error()),
                Line::raw(""),
                hint(&hint_line(Place::Failed)),
            ])
            .wrap(Wrap { trim: false }),
            inner,
        ),
    }
}

fn draw_pick_group(frame: &mut Frame, area: Rect, dialog: &RewindDialog) {
    let [list, chosen, help] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(u16::from(dialog.candidate.is_some())),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(hint(&hint_line(Place::PickGroup))), help);
    if let Some((file, _)) = &dialog.candidate {
        let line = format!(
            "Candidate: {}: the plan's outcome folds what comes again with it.",
            text::clean(file)
        );
        frame.render_widget(Paragraph::new(Line::styled(line, theme::dim())), chosen);
    }
    let message = match &dialog.groups {
        None => Some("Loading the consumer groups…".to_owned()),
        Some(Err(e)) => Some(text::clean(e)),
        Some(Ok(g)) if g.is_empty() => Some(
            "No consumer groups. Where the broker cannot list groups, name them in the profile: groups = [\"billing\"].".into(),
        ),
        Some(Ok(_)) => None,
    };
    if let Some(message) = message {
        frame.render_widget(Paragraph::new(message).wrap(Wrap { trim: false }), list);
        return;
    }
    let topic = &dialog.target.topic;
    let header = Row::new(
        [
            "GROUP",
            "STATE",
            format!("LAG ON {}", text::clean(topic)).as_str(),
        ]
        .map(|s| Cell::from(s.to_owned())),
    )
    .style(theme::heading());
    let rows = dialog.choices().into_iter().map(|g| {
        let offsets: Vec<_> = g.offsets.iter().filter(|o| &o.topic == topic).collect();
        let lag = match offsets.is_empty() {
            true => "no offsets on this topic".to_owned(),
            false => offsets
                .iter()
                .filter_map(|o| o.lag())
                .sum::<i64>()
                .to_string(),
        };
        Row::new(vec![
            Cell::from(text::clean(&g.name)),
            Cell::from(g.state.name().to_owned()).style(state_style(&g.state)),
            Cell::from(lag),
        ])
    });
    let widths = [
        Constraint::Length(28),
        Constraint::Length(20),
        Constraint::Min(10),
    ];
    let mut state = TableState::default().with_selected(Some(dialog.selected));
    frame.render_stateful_widget(
        selectable(Table::new(rows, widths).header(header).column_spacing(1)),
        list,
        &mut state,
    );
}

/// The plan as lines: partitions, first events, re-delivered events, warnings, command.
fn plan_lines(plan: &Plan, kind: crate::model::group::GroupType, app: &App) -> Vec<Line<'static>> {
    let bold = theme::heading();
    let mut lines = vec![
        Line::raw(""),
        Line::styled(
            format!(
                "{:>4} {:>9} {:>9}  {:<13} {:<9} FIRST EVENT AT THE TARGET",
                "PART", "CURRENT", "TARGET", "EFFECT", "TIME FROM"
            ),
            bold,
        ),
    ];
    for p in &plan.partitions {
        let source = match p.time.map(|t| t.source) {
            None => "marked",
            Some(TimeSource::Index) => "index",
            Some(TimeSource::Broker) => "broker",
            Some(TimeSource::Search { .. }) => "records",
        };
        let first = match &p.first_event {
            Some(e) => format!(
                "{} {} {} {}",
                e.coord(),
                e.timestamp.map(short_time).unwrap_or_default(),
                text::clean(&e.event_type),
                text::clean(&e.aggregate)
            ),
            None => "(log end: only new events)".into(),
        };
        lines.push(Line::raw(format!(
            "{:>4} {:>9} {:>9}  {:<13} {:<9} {first}",
            p.partition,
            p.current.map_or("-".into(), |c| c.to_string()),
            p.target,
            p.effect().to_string(),
            source
        )));
    }
    if let Some(impact) = &plan.impact {
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            format!(
                "{} delivered again: {} event(s)",
                text::clean(&impact.aggregate),
                impact.redelivered.len()
            ),
            bold,
        ));
        let shown: Vec<String> = impact
            .redelivered
            .iter()
            .map(|e| format!("{} {}", e.coord, text::clean(&e.event_type)))
            .collect();
        if !shown.is_empty() {
            lines.push(Line::raw(format!("  {}", shown.join(" · "))));
        }
    }
    for w in plan.warnings() {
        lines.push(Line::styled(
            format!("! {}", text::clean(&w)),
            theme::warning(),
        ));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("Equivalent command:", bold));
    lines.push(Line::raw(text::clean(&plan.command_for(
        kind,
        &app.brokers,
        &app.properties,
    ))));
    lines
}

fn draw_compensate(frame: &mut Frame, area: Rect, app: &App, dialog: &CompensateDialog) {
    let d = &dialog.draft;
    let title = format!(
        " Compensate {} {} {} ",
        text::clean(&d.topic),
        d.compensates,
        text::clean(&d.compensates_type)
    );
    let inner = window(frame, area, 100, area.height.saturating_sub(2), title);
    let bold = theme::heading();
    let mut lines = vec![
        Line::styled(
            "The compensating event (drafted from the topic's compensation template):",
            bold,
        ),
        Line::raw(format!(
            "topic      {}   partition {} (the compensated event's)",
            text::clean(&d.topic),
            d.partition
        )),
        Line::raw(format!("key        {}", text::clean(&d.key.label()))),
    ];
    for (k, v) in &d.headers {
        lines.push(Line::raw(format!(
            "header     {}: {}",
            text::clean(k),
            text::clean(v)
        )));
    }
    lines.push(Line::raw("value"));
    let pretty = serde_json::to_string_pretty(&d.value).unwrap_or_default();
    lines.extend(
        pretty
            .lines()
            .map(|l| Line::raw(format!("  {}", text::clean(l)))),
    );
    lines.push(Line::raw(""));
    if let Some(by) = dialog.reversed_by {
        lines.push(Line::styled(
            format!("✗ already reversed by {by}: producing this would reverse it twice"),
            theme::error(),
        ));
    }
    match (&dialog.result, dialog.producing) {
        (Some(Ok(at)), _) => lines.push(Line::styled(
            format!("✓ Produced at {at}."),
            theme::success(),
        )),
        (Some(Err(e)), _) => lines.push(Line::styled(
            format!("✗ {}", text::clean(e)),
            theme::error(),
        )),
        (None, true) => lines.push(Line::raw("Producing…")),
        (None, false) if app.read_only => lines.push(Line::styled(
            "✗ read-only: rewind will not produce events here",
            theme::error(),
        )),
        (None, false) => lines.push(Line::from(vec![
            Span::styled("Type the topic's name to produce it: ", bold),
            Span::raw(text::clean(&dialog.typed)),
            Span::raw("█"),
        ])),
    }
    lines.push(hint(&hint_line(Place::Produce)));
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

/// Wrong aggregates the dialog lists, and changes shown of each.
const WRONG_LISTED: usize = 6;
const CHANGES_SHOWN: usize = 2;

/// The plan's outcome: one line, then the aggregates left wrong with what the read
/// model will hold (red) against what their events say (green), and the advice.
fn outcome_lines(outcome: &OutcomeView, file: Option<&str>, topic: &str) -> Vec<Line<'static>> {
    let with = file.map(|file| {
        let name = std::path::Path::new(file)
            .file_name()
            .map_or(file.to_owned(), |n| n.to_string_lossy().into_owned());
        format!("With {}: ", text::clean(&name))
    });
    let with = with.unwrap_or_default();
    let o = match outcome {
        OutcomeView::Folding { pass, done, total } => {
            let read = match total {
                0 => String::new(),
                _ => format!(" (pass {pass} of 2: {done} of {total} records)"),
            };
            return vec![Line::styled(
                format!("{with}Outcome: folding {} to see what the read model will hold after the rewind{read}…", text::clean(topic)),
                theme::dim(),
            )];
        }
        OutcomeView::Failed(why) => {
            return vec![Line::styled(
                format!("{with}Outcome not known: {}", text::clean(why)),
                theme::error(),
            )]
        }
        OutcomeView::Known(o) => o,
    };
    let style = match o.wrong {
        0 => theme::fine(),
        _ => theme::warning(),
    };
    let mut lines = vec![Line::styled(
        format!("{with}{}", text::clean(&o.line())),
        style,
    )];
    for w in o.results.values().take(WRONG_LISTED) {
        let mut spans = vec![Span::raw(format!("  {}  ", text::clean(&w.aggregate)))];
        for (i, c) in w.changes.iter().take(CHANGES_SHOWN).enumerate() {
            let shown = |v: &Option<serde_json::Value>| {
                text::clean(&v.as_ref().map_or("absent".into(), |v| v.to_string()))
            };
            if i > 0 {
                spans.push(Span::raw("; "));
            }
            spans.push(Span::styled(
                format!("{} ", text::clean(&c.path)),
                theme::dim(),
            ));
            spans.push(Span::styled(shown(&c.before), theme::error()));
            spans.push(Span::raw(" ↔ "));
            spans.push(Span::styled(shown(&c.after), theme::success()));
        }
        if w.changes.len() > CHANGES_SHOWN {
            spans.push(Span::styled(
                format!("  (+{} more)", w.changes.len() - CHANGES_SHOWN),
                theme::dim(),
            ));
        }
        lines.push(Line::from(spans));
    }
    if o.wrong > WRONG_LISTED {
        lines.push(Line::styled(
            format!(
                "  … and {} more (`rewind reset … -o json` lists up to {})",
                o.wrong - WRONG_LISTED,
                crate::model::outcome::LISTED
            ),
            theme::dim(),
        ));
    }
    if o.wrong > 0 {
        lines.push(Line::styled(
            "Advice: rebuild — reset the read model and rewind to earliest, or make the reducers idempotent (Tab in the group list tries a fixed file).",
            theme::warning(),
        ));
    }
    lines
}

/// The replay after a commit: events re-processed of the plan's, rate, time to catch up.
fn watch_line(watch: &crate::model::group::ReplayWatch) -> Line<'static> {
    let Some(last) = watch.last() else {
        return Line::styled("Replay: reading the group…", theme::dim());
    };
    let percent = (last.done * 100).checked_div(last.total).unwrap_or(100);
    let progress = format!(
        "Replay: {} of {} events re-processed ({percent}%)",
        last.done, last.total
    );
    match (watch.caught_up(), &watch.stopped, watch.rate()) {
        (true, _, _) => Line::styled(format!("{progress}: caught up."), theme::success()),
        (false, Some(why), _) => Line::styled(
            format!("{progress}; no longer watched: {}", text::clean(why)),
            theme::warning(),
        ),
        (false, None, (rate, Some(eta))) => Line::styled(
            format!(
                "{progress}, {rate:.0} events/s, caught up in about {:.0} s.",
                eta.ceil()
            ),
            theme::info(),
        ),
        (false, None, _) if watch.samples.len() >= 2 => Line::styled(
            format!(
                "{progress}, lag {}: no progress since the last look (is a consumer of the group running?).",
                last.lag
            ),
            theme::warning(),
        ),
        (false, None, _) => Line::styled(
            format!("{progress}, lag {} (rate after the next look).", last.lag),
            theme::info(),
        ),
    }
}
