//! A topic's events: the list on the left, the selected event on the right.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Gauge, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::{scroll_offset, selectable, short_time, text, theme};
use crate::app::{App, EventsView, Pane};
use crate::model::event::Transaction;
use crate::model::position::format_time;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let view = &app.topic.events;
    let area = if view.done {
        area
    } else {
        let [gauge, rest] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        draw_progress(frame, gauge, view);
        rest
    };
    let area = match &view.note {
        Some(note) => {
            let [banner, rest] =
                Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
            frame.render_widget(
                Paragraph::new(Line::styled(text::clean(note), theme::warning())),
                banner,
            );
            rest
        }
        None => area,
    };
    let [list, detail] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
    draw_list(frame, list, view);
    draw_detail(frame, detail, view);
}

fn draw_progress(frame: &mut Frame, area: Rect, view: &EventsView) {
    // Partitions read ahead of the one being shown count too.
    let loaded = view.read.max(view.len() as i64) as f64;
    let ratio = match view.total {
        Some(total) if total > 0 => (loaded / total as f64).clamp(0.0, 1.0),
        _ => 0.0,
    };
    let label = match view.total {
        Some(total) if view.read > view.len() as i64 => format!(
            "loading {} / {} events ({} shown so far, in partition order)",
            view.read,
            total,
            view.len()
        ),
        Some(total) => format!("loading {} / {} events", view.len(), total),
        None => "connecting…".to_owned(),
    };
    frame.render_widget(
        Gauge::default()
            .gauge_style(theme::gauge())
            .ratio(ratio)
            .label(label),
        area,
    );
}

/// The mark of a record of an aborted (✗) or open (⋯) transaction, read uncommitted.
pub(super) fn transaction_mark(t: Option<Transaction>) -> &'static str {
    match t {
        Some(Transaction::Aborted) => "✗",
        Some(Transaction::Open) => "⋯",
        None => "",
    }
}

fn draw_list(frame: &mut Frame, area: Rect, view: &EventsView) {
    let title = match (&view.error, view.done) {
        (Some(_), _) => format!(
            " {} — {} events (load failed) ",
            text::clean(&view.topic),
            view.len()
        ),
        (None, true) => format!(" {} — {} events ", text::clean(&view.topic), view.len()),
        (None, false) => format!(
            " {} — {} events so far ",
            text::clean(&view.topic),
            view.len()
        ),
    };
    // Read uncommitted: how many records never happened (yet).
    let title = match view.index.transactions() {
        (0, 0) => title,
        (aborted, open) => {
            format!("{title}({aborted} aborted ✗, {open} open ⋯: not folded) ")
        }
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme::border(view.pane == Pane::List));
    if view.is_empty() {
        let message = match (&view.error, view.done) {
            (Some(e), _) => text::clean(&e.message),
            (None, true) => "This topic holds no events.".to_owned(),
            (None, false) => "Loading…".to_owned(),
        };
        frame.render_widget(
            Paragraph::new(message)
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
    let height = area.height.saturating_sub(3) as usize;
    let offset = scroll_offset(view.selected, height, view.len());
    let end = (offset + height).min(view.len());
    let rows = (offset..end).map(|i| {
        let e = view.index.get(i);
        let transaction = view.index.transaction(e.coord());
        let style = match (view.matches(i), transaction.is_some()) {
            (true, _) => theme::warning(),
            (false, true) => theme::dim(),
            (false, false) => Style::new(),
        };
        let kind = match transaction_mark(transaction) {
            "" => text::clean(e.event_type()),
            mark => format!("{mark} {}", text::clean(e.event_type())),
        };
        Row::new(vec![
            Cell::from(e.coord().to_string()),
            Cell::from(e.timestamp().map(short_time).unwrap_or_else(|| "-".into())),
            Cell::from(text::clean(e.key())),
            Cell::from(kind),
        ])
        .style(style)
    });
    let header =
        Row::new(["P/OFFSET", "TIME", "KEY", "TYPE"].map(Cell::from)).style(theme::heading());
    let widths = [
        Constraint::Length(9),
        Constraint::Length(14),
        Constraint::Percentage(40),
        Constraint::Percentage(60),
    ];
    let mut state = TableState::default().with_selected(Some(view.selected - offset));
    let table = selectable(Table::new(rows, widths).header(header).block(block));
    frame.render_stateful_widget(table, area, &mut state);
}

fn field(name: &str, value: String) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{name:<10}"), theme::dim()),
        Span::raw(text::clean(&value)),
    ])
}

fn draw_detail(frame: &mut Frame, area: Rect, view: &EventsView) {
    let block = Block::bordered()
        .title(" Event ")
        .border_style(theme::border(view.pane == Pane::Detail));
    let Some(e) = view.current() else {
        let unreadable = (view.selected < view.len())
            .then(|| view.unreadable.get(&view.index.get(view.selected).coord()))
            .flatten();
        let text = match (view.is_empty(), unreadable) {
            (true, _) => String::new(),
            (false, Some(why)) => format!("Could not read the event: {}", text::clean(why)),
            (false, None) => {
                "Loading the event from the topic… (its payload was not kept in memory)".into()
            }
        };
        frame.render_widget(
            Paragraph::new(text).wrap(Wrap { trim: false }).block(block),
            area,
        );
        return;
    };
    let mut lines = vec![
        field(
            "at",
            format!(
                "{} / partition {} / offset {}",
                e.topic, e.partition, e.offset
            ),
        ),
        field(
            "time",
            e.timestamp
                .map(format_time)
                .unwrap_or_else(|| "none".into()),
        ),
        field(
            "key",
            match &e.key_schema {
                Some(s) => format!("{} ({})", e.key.label(), s.label()),
                None => format!("{} ({})", e.key.label(), e.key.kind()),
            },
        ),
        field("aggregate", e.aggregate.clone()),
        field("type", e.event_type.clone()),
    ];
    if e.headers.is_empty() {
        lines.push(field("headers", "none".into()));
    } else {
        lines.push(field("headers", String::new()));
        for (name, value) in &e.headers {
            lines.push(Line::from(vec![
                Span::styled(format!("  {}", text::clean(name)), theme::info()),
                Span::raw(format!(": {}", text::clean(&value.label()))),
            ]));
        }
    }
    if let Some(t) = e.transaction {
        let said = match t {
            Transaction::Aborted => "aborted: its transaction was rolled back; it never happened and is never folded",
            Transaction::Open => "open: past the last stable offset, its transaction is not committed yet; not folded",
        };
        lines.push(Line::from(vec![
            Span::styled("transaction ", theme::dim()),
            Span::styled(
                format!("{} {said}", transaction_mark(Some(t))),
                theme::warning(),
            ),
        ]));
    }
    lines.push(Line::from(""));
    if let Some(why) = &e.decode_error {
        lines.push(Line::from(Span::styled(
            format!("not decoded: {}", text::clean(why)),
            theme::error(),
        )));
    }
    lines.push(Line::from(Span::styled(
        match &e.schema {
            Some(s) => format!("value ({})", s.label()),
            None => format!("value ({})", e.value.kind()),
        },
        theme::dim(),
    )));
    lines.extend(value_lines(&e.value));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((view.detail_scroll, 0)),
        area,
    );
}

/// A payload as lines: JSON in syntax colours, anything else as it is.
pub(super) fn value_lines(value: &crate::model::event::Payload) -> Vec<Line<'static>> {
    let pretty = value.pretty();
    match value.as_json() {
        Some(_) => theme::json_lines(&pretty, &|_| false),
        None => pretty.lines().map(|l| Line::from(text::clean(l))).collect(),
    }
}
