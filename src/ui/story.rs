//! The Story screen: the merged timeline of one id across topics, the event at the
//! cursor, and a state pane per topic.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::{scroll_offset, selectable, short_time, state_pane, text, theme};
use crate::app::{StoryRead, StoryView, Timeline};
use crate::model::position::format_time;

pub fn draw(frame: &mut Frame, area: Rect, view: &StoryView) {
    let (message, style) = match &view.read {
        StoryRead::Read(timeline) => return draw_timeline_screen(frame, area, view, timeline),
        StoryRead::Loading => (
            format!(
                "Reading story {} for {}: each topic's events for the id…",
                view.name, view.id
            ),
            theme::dim(),
        ),
        StoryRead::Failed(e) => (e.clone(), theme::error()),
    };
    {
        let block = Block::bordered()
            .title(format!(
                " Story {} › {} ",
                text::clean(&view.name),
                text::clean(&view.id)
            ))
            .border_style(theme::border(true));
        frame.render_widget(
            Paragraph::new(Line::styled(text::clean(&message), style))
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
    }
}

fn draw_timeline_screen(frame: &mut Frame, area: Rect, view: &StoryView, timeline: &Timeline) {
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(area);
    draw_timeline(frame, left, view, timeline);
    let [event, states] =
        Layout::vertical([Constraint::Percentage(35), Constraint::Percentage(65)]).areas(right);
    draw_event(frame, event, timeline);
    draw_states(frame, states, view, timeline);
}

fn draw_timeline(frame: &mut Frame, area: Rect, view: &StoryView, timeline: &Timeline) {
    let height = area.height.saturating_sub(3) as usize;
    let offset = scroll_offset(timeline.cursor, height, timeline.order.len());
    let rows = (offset..timeline.order.len()).take(height).filter_map(|i| {
        let (strand, j, e) = timeline.event(i)?;
        let mut marks = vec![];
        if strand.projection.error_at(j).is_some() {
            marks.push("✗");
        }
        if !strand.projection.violations_at(j).is_empty() {
            marks.push("!");
        }
        let style = match strand.projection.error_at(j) {
            Some(_) => theme::error(),
            None => Style::new(),
        };
        Some(
            Row::new(vec![
                Cell::from(i.to_string()),
                Cell::from(e.timestamp.map(short_time).unwrap_or_else(|| "-".into())),
                Cell::from(text::clean(&strand.topic)),
                Cell::from(text::clean(&e.event_type)),
                Cell::from(marks.join(" ")),
            ])
            .style(style),
        )
    });
    let header =
        Row::new(["#", "TIME", "TOPIC", "TYPE", ""].map(Cell::from)).style(theme::heading());
    let widths = [
        Constraint::Length(3),
        Constraint::Length(14),
        Constraint::Length(14),
        Constraint::Min(10),
        Constraint::Length(3),
    ];
    let n = timeline.order.len();
    let title = format!(
        " {} — {n} event{} in {} topics ",
        text::clean(&view.id),
        if n == 1 { "" } else { "s" },
        timeline.strands.len()
    );
    let block = Block::bordered()
        .title(title)
        .border_style(theme::border(true));
    let mut state = TableState::default().with_selected(Some(timeline.cursor - offset));
    let table = selectable(Table::new(rows, widths).header(header).block(block));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_event(frame: &mut Frame, area: Rect, timeline: &Timeline) {
    let mut lines = vec![];
    if let Some((strand, j, e)) = timeline.event(timeline.cursor) {
        lines.push(Line::styled(
            text::clean(&format!(
                "{} {} {} {}",
                strand.topic,
                e.event_type,
                e.coord(),
                e.timestamp.map(format_time).unwrap_or_default()
            )),
            theme::heading(),
        ));
        if let Some(error) = strand.projection.error_at(j) {
            lines.push(Line::styled(
                format!("reducer error: {}", text::clean(error)),
                theme::error(),
            ));
        }
        let broken = strand.projection.violations_at(j);
        if !broken.is_empty() {
            lines.push(Line::styled(
                format!("breaks invariant: {}", text::clean(&broken.join(", "))),
                theme::error(),
            ));
        }
        lines.extend(super::events::value_lines(&e.value));
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

/// A state pane per topic, split; the cursor's topic is framed and shows what its event
/// changed (highlighted, or `d`: the diff).
fn draw_states(frame: &mut Frame, area: Rect, view: &StoryView, timeline: &Timeline) {
    let strands = &timeline.strands;
    if strands.is_empty() {
        return;
    }
    let here = timeline.order.get(timeline.cursor).map(|(s, _)| *s);
    let areas = Layout::vertical(vec![Constraint::Fill(1); strands.len()]).split(area);
    for (s, strand) in strands.iter().enumerate() {
        let (state, changes) = timeline
            .states
            .get(s)
            .cloned()
            .unwrap_or((serde_json::Value::Null, vec![]));
        let current = here == Some(s);
        let at = timeline.at.get(timeline.cursor).and_then(|a| a[s]);
        let title = match at {
            None => format!(" {} — no event yet ", text::clean(&strand.topic)),
            Some(j) => format!(
                " {} — state after its #{j}{} ",
                text::clean(&strand.topic),
                match (current, view.diff) {
                    (true, true) => " (diff — d for state)",
                    (true, false) => " (changed fields highlighted — d for diff)",
                    _ => "",
                }
            ),
        };
        let lines: Vec<Line> = match (current && view.diff, at) {
            (_, None) => vec![Line::styled("null", theme::dim())],
            (true, _) if changes.is_empty() => vec![Line::from("this event changed nothing")],
            (true, _) => state_pane::change_lines(&changes),
            (false, _) => state_pane::highlighted(&state, &changes),
        };
        let block = Block::bordered()
            .title(Span::raw(title))
            .border_style(theme::border(current));
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            areas[s],
        );
    }
}
