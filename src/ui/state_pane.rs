//! The Stream screen's state pane: the state after the cursor with the fields the event
//! changed highlighted, or (`d`) the diff; its title says where the state was rebuilt
//! from.

use std::collections::HashSet;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::{text, theme};
use crate::app::{Compare, ReadModelView, StreamView};

pub fn draw(frame: &mut Frame, area: Rect, view: &StreamView) {
    if let Some(read_model) = view.read_model.as_ref().filter(|_| view.ready) {
        return draw_read_model(frame, area, view, read_model);
    }
    if let Some(compare) = view.compare.as_ref().filter(|_| view.ready) {
        return draw_compare(frame, area, view, compare);
    }
    let mode = if view.diff {
        "diff — d for state"
    } else {
        "changed fields highlighted — d for diff"
    };
    let block = Block::bordered()
        .title(format!(" State after #{} ({mode}) ", view.cursor))
        .title_bottom(basis_line(view))
        .border_style(theme::border(false));
    let lines: Vec<Line> = if !view.ready {
        vec![Line::styled(
            format!(
                "folding {} of {} events… (keys work meanwhile)",
                view.projection.folded().min(view.projection.len()),
                view.projection.len()
            ),
            theme::dim(),
        )]
    } else if view.diff {
        if view.changes.is_empty() {
            vec![Line::from("this event changed nothing")]
        } else {
            change_lines(&view.changes)
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

/// Changes as lines: the operation, the path, before → after.
pub(super) fn change_lines(changes: &[crate::model::diff::Change]) -> Vec<Line<'static>> {
    changes
        .iter()
        .map(|c| {
            let show = |v: &Option<serde_json::Value>| {
                v.as_ref().map(|v| v.to_string()).unwrap_or_default()
            };
            Line::from(vec![
                Span::styled(format!("{:<8}", c.op), theme::diff_op(c.op)),
                Span::styled(
                    text::clean(if c.path.is_empty() { "/" } else { &c.path }),
                    theme::heading(),
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

/// `:compare FILE`: what the candidate's state differs in at the cursor, then the
/// candidate's state with those top-level fields highlighted.
fn draw_compare(frame: &mut Frame, area: Rect, view: &StreamView, compare: &Compare) {
    // The file's name: the whole path was said when `:compare` was typed.
    let name = std::path::Path::new(&compare.file)
        .file_name()
        .map_or(compare.file.clone(), |n| n.to_string_lossy().into_owned());
    let block = Block::bordered()
        .title(format!(
            " State after #{}: current ↔ {} ",
            view.cursor,
            text::clean(&name)
        ))
        .title_bottom(Line::styled(
            " :compare alone stops comparing ",
            theme::info(),
        ))
        .border_style(theme::border(false));
    let mut lines = match compare.changes.len() {
        0 => vec![Line::styled("the same state with both", theme::fine())],
        n => {
            let mut lines = vec![Line::styled(
                format!("{n} difference(s), current → {}:", text::clean(&name)),
                theme::warning(),
            )];
            lines.extend(change_lines(&compare.changes));
            lines
        }
    };
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!("{}:", text::clean(&name)),
        theme::dim(),
    ));
    lines.extend(highlighted(&compare.state, &compare.changes));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block),
        area,
    );
}

/// `v`: the aggregate's row in the read model against the fold at the cursor: what
/// differs (fold → row), then the row with those top-level fields highlighted.
fn draw_read_model(frame: &mut Frame, area: Rect, view: &StreamView, rm: &ReadModelView) {
    let block = Block::bordered()
        .title(format!(
            " State after #{} ↔ read model (database {}) ",
            view.cursor,
            text::clean(&rm.database)
        ))
        .title_bottom(Line::styled(" v for the state ", theme::info()))
        .border_style(theme::border(false));
    let ignoring = match rm.ignore.is_empty() {
        true => String::new(),
        false => format!(" (ignoring {})", text::clean(&rm.ignore.join(", "))),
    };
    let lines = match &rm.row {
        None => vec![Line::styled(
            format!("reading {}'s row…", text::clean(&view.aggregate)),
            theme::dim(),
        )],
        Some(Err(e)) => vec![Line::styled(
            format!("✗ {}", text::clean(e)),
            theme::error(),
        )],
        Some(Ok(None)) => vec![Line::styled(
            format!(
                "the read model has no row for {}: its consumer never wrote it, or lost it",
                text::clean(&view.aggregate)
            ),
            theme::warning(),
        )],
        Some(Ok(Some(row))) => {
            let mut lines = match rm.changes.len() {
                0 => vec![Line::styled(
                    format!("the row matches the fold at #{}{ignoring}", view.cursor),
                    theme::fine(),
                )],
                n => {
                    let mut lines = vec![Line::styled(
                        format!("{n} difference(s), fold → read model{ignoring}:"),
                        theme::warning(),
                    )];
                    lines.extend(change_lines(&rm.changes));
                    lines
                }
            };
            lines.push(Line::raw(""));
            lines.push(Line::styled("read model:", theme::dim()));
            lines.extend(highlighted(row, &rm.changes));
            lines
        }
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
    highlighted(&view.state, &view.changes)
}

/// A pretty state with the top-level fields `changes` touch highlighted.
pub(super) fn highlighted(
    state: &serde_json::Value,
    changes: &[crate::model::diff::Change],
) -> Vec<Line<'static>> {
    let changed: HashSet<String> = changes
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
    let everything = changes.iter().any(|c| c.path.is_empty());
    let pretty = serde_json::to_string_pretty(state).unwrap_or_default();
    // Which lines belong to a changed top-level field.
    let mut current: Option<String> = None;
    let hits: Vec<bool> = pretty
        .lines()
        .map(|line| {
            if let Some(rest) = line.strip_prefix("  \"") {
                current = rest.split_once("\":").map(|(k, _)| k.to_owned());
            } else if !line.starts_with("   ") {
                current = None;
            }
            everything || current.as_ref().is_some_and(|k| changed.contains(k))
        })
        .collect();
    theme::json_lines(&pretty, &|n| hits.get(n).copied().unwrap_or(false))
}

/// "from snapshot v10 + 3 events", or how many events were replayed.
fn basis_line(view: &StreamView) -> Line<'static> {
    let plural = |n: usize| if n == 1 { "event" } else { "events" };
    let b = view.basis;
    let text = match b.snapshot {
        Some(v) => format!(
            " from snapshot v{v} + {} {} — S: replay all ",
            b.events,
            plural(b.events)
        ),
        None if view.projection.has_snapshots() && view.projection.from_snapshot() => {
            format!(
                " replayed {} {} (no snapshot before) ",
                b.events,
                plural(b.events)
            )
        }
        None if view.projection.has_snapshots() => {
            format!(
                " replayed {} {} — S: from snapshot ",
                b.events,
                plural(b.events)
            )
        }
        None => format!(" replayed {} {} ", b.events, plural(b.events)),
    };
    Line::from(Span::styled(text, theme::info()))
}
