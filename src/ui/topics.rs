//! The Topics screen.

use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState};
use ratatui::Frame;

use super::{scroll_offset, selectable, text, theme};
use crate::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let view = &app.topics;
    let visible = view.visible();
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
        let message = format!("{}\n\nPress R to retry, q to quit.", text::clean(error));
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
            "    EVENTS",
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
