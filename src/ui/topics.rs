//! The Topics screen.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::{scroll_offset, selectable, text, theme};
use crate::app::App;
use crate::model::group::Group;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let view = &app.topics;
    let visible = view.visible();
    // The groups that read the selected topic, below the list, once groups are known.
    let selected = visible
        .get(view.selected)
        .map(|t| t.name.as_str())
        .filter(|_| view.error.is_none() && !app.groups.groups.is_empty());
    let area = match selected {
        Some(topic) => {
            let readers: Vec<Group> = app
                .groups
                .groups
                .iter()
                .filter_map(|g| g.on_topic(topic))
                .collect();
            let height = (readers.len().max(1) as u16 + 3).min(area.height / 3);
            let [list, below] =
                Layout::vertical([Constraint::Min(5), Constraint::Length(height)]).areas(area);
            draw_readers(frame, below, topic, &readers);
            list
        }
        None => area,
    };
    let title = match (view.filter.is_empty(), view.loading) {
        (_, true) => " Topics (loading…) ".to_owned(),
        (true, false) => format!(" Topics ({}) ", visible.len()),
        (false, false) => format!(
            " Topics ({} of {}, filter: {}) ",
            visible.len(),
            view.all.len(),
            text::clean(&view.filter)
        ),
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme::border(true));
    if let Some(error) = &view.error {
        let message = format!(
            "{}\n\nPress R to retry, q to quit.",
            text::clean(&error.message)
        );
        frame.render_widget(
            Paragraph::new(message)
                .style(theme::error())
                .wrap(ratatui::widgets::Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
    let header = Row::new(
        [
            "TOPIC",
            "PARTITIONS",
            "   OFFSETS",
            "   RECORDS",
            "       LOW",
            "      HIGH",
            "CLEANUP",
            "RETENTION",
        ]
        .map(Cell::from),
    )
    .style(theme::heading());
    let rows = visible.iter().map(|t| {
        Row::new(vec![
            Cell::from(text::clean(&t.name)),
            Cell::from(format!("{:>10}", t.partitions.len())),
            Cell::from(format!("{:>10}", t.count())),
            Cell::from(format!(
                "{:>10}",
                t.records.map_or("-".into(), |r| r.to_string())
            )),
            Cell::from(format!("{:>10}", t.low())),
            Cell::from(format!("{:>10}", t.high())),
            Cell::from(t.settings.cleanup_label().to_owned()),
            Cell::from(format!("{:>9}", t.settings.retention_label())),
        ])
    });
    let widths = [
        Constraint::Min(20),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(7),
        Constraint::Length(9),
    ];
    let height = area.height.saturating_sub(3) as usize;
    let mut state = TableState::default()
        .with_offset(scroll_offset(view.selected, height, visible.len()))
        .with_selected((!visible.is_empty()).then_some(view.selected));
    let table = selectable(
        Table::new(rows, widths)
            .header(header)
            .block(block)
            .column_spacing(2),
    );
    frame.render_stateful_widget(table, area, &mut state);
}

/// The groups with offsets on (or members assigned) the selected topic, with their lag
/// there (in offsets: lag in time would take two reads per partition at every listing).
fn draw_readers(frame: &mut Frame, area: Rect, topic: &str, readers: &[Group]) {
    let block = Block::bordered()
        .title(format!(
            " Groups reading {} ({}) ",
            text::clean(topic),
            readers.len()
        ))
        .border_style(theme::border(false));
    if readers.is_empty() {
        frame.render_widget(
            Paragraph::new("No group has offsets on this topic.")
                .style(theme::dim())
                .block(block),
            area,
        );
        return;
    }
    let header = Row::new(["GROUP", "STATE", "TYPE", "MEMBERS", "       LAG"].map(Cell::from))
        .style(theme::heading());
    let rows = readers.iter().map(|g| {
        let lag = match g.offsets.iter().any(|o| o.committed.is_some()) {
            true => g.lag().to_string(),
            false => "-".into(),
        };
        Row::new(vec![
            Cell::from(text::clean(&g.name)),
            Cell::from(g.state.name().to_owned()).style(super::groups::state_style(&g.state)),
            Cell::from(g.kind.name()),
            Cell::from(format!("{:>7}", g.members.len())),
            Cell::from(format!("{lag:>10}")),
        ])
    });
    let widths = [
        Constraint::Min(20),
        Constraint::Length(11),
        Constraint::Length(8),
        Constraint::Length(7),
        Constraint::Length(10),
    ];
    frame.render_widget(
        Table::new(rows, widths)
            .header(header)
            .block(block)
            .column_spacing(2),
        area,
    );
}
