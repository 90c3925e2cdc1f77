//! The Stream screen: the topic's aggregates, the open aggregate's timeline with its
//! markers, the event at the cursor, and the state after it (`state_pane`).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::{scroll_offset, selectable, short_time, state_pane, text, theme};
use crate::app::{App, StreamView};
use crate::model::index::Indexed;
use crate::model::position::format_time;

/// Below this width the aggregates and the timeline share one column: the one with
/// focus is shown (Tab switches).
const THREE_COLUMNS: u16 = 120;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, view: &StreamView) {
    let right = if area.width >= THREE_COLUMNS {
        let [aggregates, timeline, right] = Layout::horizontal([
            Constraint::Length(34),
            Constraint::Length(46),
            Constraint::Min(30),
        ])
        .areas(area);
        draw_aggregates(frame, aggregates, app);
        draw_timeline(frame, timeline, app, view);
        right
    } else {
        let [list, right] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(area);
        match app.topic.aggregates.focused {
            true => draw_aggregates(frame, list, app),
            false => draw_timeline(frame, list, app, view),
        }
        right
    };
    let [event, state] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(right);
    draw_event(frame, event, app, view);
    state_pane::draw(frame, state, view);
}

fn draw_aggregates(frame: &mut Frame, area: Rect, app: &App) {
    let list = &app.topic.aggregates;
    let title = match list.filter.is_empty() {
        true => format!(" Aggregates ({}) ", list.len()),
        false => format!(
            " Aggregates ({}, /{}) ",
            list.len(),
            text::clean(&list.filter)
        ),
    };
    let height = area.height.saturating_sub(3) as usize;
    let offset = scroll_offset(list.selected, height, list.len());
    let shown = offset..list.len().min(offset + height);
    let rows = shown
        .filter_map(|i| list.row(i, &app.topic.events.index))
        .map(|a| {
            Row::new(vec![
                Cell::from(text::clean(a.aggregate)),
                Cell::from(format!("{:>4}", a.count)),
                Cell::from(text::clean(a.last_type)),
            ])
        });
    let header = Row::new(["ID", "   N", "LAST"].map(Cell::from)).style(theme::heading());
    let widths = [
        Constraint::Length(14),
        Constraint::Length(4),
        Constraint::Min(6),
    ];
    let block = Block::bordered()
        .title(title)
        .border_style(theme::border(list.focused));
    let selected = (!list.is_empty()).then(|| list.selected.saturating_sub(offset));
    let mut state = TableState::default().with_selected(selected);
    let table = selectable(Table::new(rows, widths).header(header).block(block));
    frame.render_stateful_widget(table, area, &mut state);
}

/// The markers of the event at stream index `i`: marked, reducer error, skipped, duplicate,
/// compensations, newer schema version, and a stored snapshot after it.
fn markers(app: &App, view: &StreamView, i: usize, e: &Indexed<'_>) -> String {
    let mut marks = Vec::new();
    if app.is_marked(e.coord()) {
        marks.push("●".to_owned());
    }
    let transaction = app.topic.events.index.transaction(e.coord());
    if transaction.is_some() {
        marks.push(super::events::transaction_mark(transaction).to_owned());
    }
    if view.projection.error_at(i).is_some() {
        marks.push("✗".to_owned());
    }
    if !view.projection.violations_at(i).is_empty() {
        marks.push("!".to_owned());
    }
    if view.projection.is_skipped(i) {
        marks.push("⊘".to_owned());
    }
    if let Some(links) = app.links() {
        if links.duplicate_of.contains_key(&e.coord()) {
            marks.push("dup".to_owned());
        }
        if links.reversed_by.contains_key(&e.coord()) {
            marks.push("↩".to_owned());
        }
        if links.reverses.contains_key(&e.coord()) {
            marks.push("↪".to_owned());
        }
    }
    let upcast = view.projection.upcast_at(i).is_some();
    if let Some(v) = e
        .version()
        .filter(|v| upcast || v.parse::<u64>().is_ok_and(|n| n > 1))
    {
        // ↑: lifted by upcasters.
        let arrow = if upcast { "↑" } else { "" };
        marks.push(format!("v{}{arrow}", text::clean(v)));
    }
    if let Some((_, changes)) = view.snapshot_after(i) {
        marks.push(if changes.is_empty() { "◆" } else { "◆≠" }.to_owned());
    }
    marks.join(" ")
}

fn draw_timeline(frame: &mut Frame, area: Rect, app: &App, view: &StreamView) {
    let height = area.height.saturating_sub(3) as usize;
    let offset = scroll_offset(view.cursor, height, view.indices.len());
    let rows = view
        .indices
        .iter()
        .enumerate()
        .skip(offset)
        .take(height)
        .map(|(i, &at)| {
            let e = app.topic.events.index.get(at);
            let style = match (
                view.projection.error_at(i).is_some(),
                view.projection.is_skipped(i),
            ) {
                (true, _) => theme::error(),
                (_, true) => theme::dim().add_modifier(Modifier::CROSSED_OUT),
                _ => Style::new(),
            };
            Row::new(vec![
                Cell::from(i.to_string()),
                Cell::from(e.timestamp().map(short_time).unwrap_or_else(|| "-".into())),
                Cell::from(text::clean(e.event_type())),
                Cell::from(markers(app, view, i, &e)),
            ])
            .style(style)
        });
    let header = Row::new(["#", "TIME", "TYPE", ""].map(Cell::from)).style(theme::heading());
    let widths = [
        Constraint::Length(3),
        Constraint::Length(14),
        Constraint::Min(10),
        Constraint::Length(7),
    ];
    let n = view.indices.len();
    let plural = if n == 1 { "" } else { "s" };
    let title = format!(" {} — {n} event{plural} ", text::clean(&view.aggregate));
    let block = Block::bordered()
        .title(title)
        .border_style(theme::border(!app.topic.aggregates.focused));
    let mut state = TableState::default().with_selected(Some(view.cursor - offset));
    let table = selectable(Table::new(rows, widths).header(header).block(block));
    frame.render_stateful_widget(table, area, &mut state);
}

fn note(text: String, style: Style) -> Line<'static> {
    Line::from(Span::styled(text, style))
}

fn draw_event(frame: &mut Frame, area: Rect, app: &App, view: &StreamView) {
    let at = view.indices[view.cursor];
    let indexed = app.topic.events.index.get(at);
    let mut lines = vec![Line::from(Span::styled(
        text::clean(&format!(
            "{} {} {}",
            indexed.event_type(),
            indexed.coord(),
            indexed.timestamp().map(format_time).unwrap_or_default()
        )),
        theme::heading(),
    ))];
    if let Some(error) = view.projection.error_at(view.cursor) {
        lines.push(note(
            format!("reducer error: {}", text::clean(error)),
            theme::error(),
        ));
    }
    if view.projection.is_skipped(view.cursor) {
        lines.push(note(
            "skipped (what-if): the fold ignores this event".into(),
            theme::warning(),
        ));
    }
    if let Some(links) = app.links() {
        let coord = indexed.coord();
        if let Some(first) = links.duplicate_of.get(&coord) {
            lines.push(note(
                format!("duplicate of {first} (same event id): replays deliver it twice"),
                theme::warning(),
            ));
        }
        if let Some(by) = links.reversed_by.get(&coord) {
            lines.push(note(format!("reversed by {by}"), theme::link()));
        }
        if let Some(target) = links.reverses.get(&coord) {
            lines.push(note(format!("reverses {target}"), theme::link()));
        }
    }
    if let Some((version, changes)) = view.snapshot_after(view.cursor) {
        let line = match changes.len() {
            0 => format!("snapshot v{version} stored after this event: matches replay"),
            _ => {
                let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
                format!(
                    "snapshot v{version} diverges from replay at {}",
                    text::clean(&paths.join(", "))
                )
            }
        };
        lines.push(note(
            line,
            if changes.is_empty() {
                theme::info()
            } else {
                theme::error()
            },
        ));
    }
    let broken = view.projection.violations_at(view.cursor);
    if !broken.is_empty() {
        lines.push(note(
            format!("breaks invariant: {}", text::clean(&broken.join(", "))),
            theme::error(),
        ));
    }
    let upcast = view.projection.upcast_at(view.cursor);
    match (app.topic.events.event(at), upcast) {
        (Some(_), Some(upcast)) if !view.raw => {
            lines.push(note(
                "as upcast, what reducers see (u: as stored)".into(),
                theme::info(),
            ));
            let value = crate::model::event::Payload::Json(upcast);
            lines.extend(super::events::value_lines(&value));
        }
        (Some(e), upcast) => {
            if upcast.is_some() {
                lines.push(note("as stored (u: as upcast)".into(), theme::info()));
            }
            lines.extend(super::events::value_lines(&e.value));
        }
        (None, _) => lines.push(note(
            "loading the event from the topic…".into(),
            theme::dim(),
        )),
    }
    let block = Block::bordered()
        .title(" Event ")
        .border_style(theme::border(false));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}
