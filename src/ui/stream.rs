//! The Stream screen: an aggregate's timeline, the event at the cursor, and the state
//! after it with what that event changed highlighted (or, with `d`, the diff).

use std::collections::HashSet;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::{scroll_offset, selectable, short_time, text, ACCENT};
use crate::app::{App, StreamView};
use crate::model::position::format_time;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let Some(view) = &app.stream else {
        return;
    };
    let [timeline, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    let [event, state] =
        Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(right);
    draw_timeline(frame, timeline, app, view);
    let e = &app.events.events[view.indices[view.cursor]];
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{} {}/{} {}",
            e.event_type,
            e.partition,
            e.offset,
            e.timestamp.map(format_time).unwrap_or_default()
        ),
        Style::new().add_modifier(Modifier::BOLD),
    ))];
    if let Some(error) = view.projection.error_at(view.cursor) {
        lines.push(Line::from(Span::styled(
            format!("reducer error: {}", text::clean(error)),
            Style::new().fg(Color::Red),
        )));
    }
    if view.projection.is_skipped(view.cursor) {
        lines.push(Line::from(Span::styled(
            "skipped (what-if): the fold ignores this event",
            Style::new().fg(Color::Yellow),
        )));
    }
    lines.extend(e.value.pretty().lines().map(|l| Line::from(text::clean(l))));
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::bordered()
                .title(" Event ")
                .border_style(Style::new().fg(Color::DarkGray)),
        ),
        event,
    );
    draw_state(frame, state, view);
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
            let e = &app.events.events[at];
            let mut marks = String::new();
            if view.projection.error_at(i).is_some() {
                marks.push('✗');
            }
            if view.projection.is_skipped(i) {
                marks.push('⊘');
            }
            if e.version.as_deref().is_some_and(|v| v != "1") {
                marks.push_str(&format!(
                    "v{}",
                    text::clean(e.version.as_deref().unwrap_or_default())
                ));
            }
            let style = match (
                view.projection.error_at(i).is_some(),
                view.projection.is_skipped(i),
            ) {
                (true, _) => Style::new().fg(Color::Red),
                (_, true) => Style::new()
                    .fg(Color::DarkGray)
                    .add_modifier(Modifier::CROSSED_OUT),
                _ => Style::new(),
            };
            Row::new(vec![
                Cell::from(i.to_string()),
                Cell::from(e.timestamp.map(short_time).unwrap_or_default()),
                Cell::from(format!("{}/{}", e.partition, e.offset)),
                Cell::from(text::clean(&e.event_type)),
                Cell::from(marks),
            ])
            .style(style)
        });
    let header = Row::new(["#", "TIME", "P/O", "TYPE", ""].map(Cell::from))
        .style(Style::new().add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(4),
        Constraint::Length(14),
        Constraint::Length(8),
        Constraint::Min(10),
        Constraint::Length(4),
    ];
    let title = format!(
        " {} › {} — {} events ",
        text::clean(&app.events.topic),
        text::clean(&view.aggregate),
        view.indices.len()
    );
    let mut state = TableState::default().with_selected(Some(view.cursor - offset));
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(ACCENT));
    let table = selectable(Table::new(rows, widths).header(header).block(block));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_state(frame: &mut Frame, area: Rect, view: &StreamView) {
    let title = format!(
        " State after #{} ({}) ",
        view.cursor,
        if view.diff {
            "diff — d for state"
        } else {
            "changed fields highlighted — d for diff"
        }
    );
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(Color::DarkGray));
    let lines: Vec<Line> = if view.diff {
        if view.changes.is_empty() {
            vec![Line::from("this event changed nothing")]
        } else {
            view.changes
                .iter()
                .map(|c| {
                    let show = |v: &Option<serde_json::Value>| {
                        v.as_ref().map(|v| v.to_string()).unwrap_or_default()
                    };
                    let colour = match c.op {
                        "add" => Color::Green,
                        "remove" => Color::Red,
                        _ => Color::Yellow,
                    };
                    Line::from(vec![
                        Span::styled(format!("{:<8}", c.op), Style::new().fg(colour)),
                        Span::styled(
                            text::clean(if c.path.is_empty() { "/" } else { &c.path }),
                            Style::new().add_modifier(Modifier::BOLD),
                        ),
                        Span::raw(text::clean(&format!(
                            "  {} → {}",
                            show(&c.before),
                            show(&c.after)
                        ))),
                    ])
                })
                .collect()
        }
    } else {
        highlighted_state(view)
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// The pretty state, with the top-level fields the event changed in colour.
fn highlighted_state(view: &StreamView) -> Vec<Line<'static>> {
    let changed: HashSet<String> = view
        .changes
        .iter()
        .map(|c| {
            c.path
                .split('/')
                .nth(1)
                .unwrap_or("")
                .replace("~1", "/")
                .replace("~0", "~")
        })
        .collect();
    let everything = view.changes.iter().any(|c| c.path.is_empty());
    let pretty = serde_json::to_string_pretty(&view.state).unwrap_or_default();
    let mut current: Option<String> = None;
    pretty
        .lines()
        .map(|line| {
            if let Some(rest) = line.strip_prefix("  \"") {
                current = rest.split_once("\":").map(|(k, _)| k.to_owned());
            } else if !line.starts_with("   ") {
                current = None;
            }
            let hit = everything || current.as_ref().is_some_and(|k| changed.contains(k));
            let style = if hit {
                Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            Line::from(Span::styled(text::clean(line), style))
        })
        .collect()
}
