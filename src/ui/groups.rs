//! The Groups screen: groups with state, members and lag; the selected group's members
//! and per-partition offsets.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::{scroll_offset, selectable, text, theme};
use crate::app::App;
use crate::model::group::{Group, GroupState};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let view = &app.groups;
    let [list, detail] =
        Layout::horizontal([Constraint::Length(52), Constraint::Min(30)]).areas(area);
    let title = match view.loading {
        true => " Consumer groups (loading…) ".to_owned(),
        false => format!(" Consumer groups ({}) ", view.groups.len()),
    };
    let block = Block::bordered()
        .title(title)
        .border_style(theme::border(true));
    if let Some(error) = &view.error {
        let message = format!(
            "{}\n\nPress R to retry, Esc to go back.",
            text::clean(error)
        );
        frame.render_widget(
            Paragraph::new(message)
                .style(theme::error())
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
        return;
    }
    if view.groups.is_empty() && !view.loading {
        let message = "No consumer groups listed. Brokers leave groups out of their listings (ACLs, Tansu's groups without commits, brokers that cannot list): :group NAME describes one by name, and so does the profile's groups = [\"billing\"].";
        frame.render_widget(
            Paragraph::new(message)
                .wrap(Wrap { trim: false })
                .block(block),
            list,
        );
    } else {
        let header = Row::new(["GROUP", "STATE", "MEMBERS", "    LAG"].map(Cell::from))
            .style(theme::heading());
        let rows = view.groups.iter().map(|g| {
            Row::new(vec![
                Cell::from(text::clean(&g.name)),
                Cell::from(g.state.name().to_owned()).style(state_style(&g.state)),
                Cell::from(format!("{:>7}", g.members.len())),
                Cell::from(format!("{:>7}", g.lag())),
            ])
        });
        let widths = [
            Constraint::Min(16),
            Constraint::Length(11),
            Constraint::Length(7),
            Constraint::Length(7),
        ];
        let height = list.height.saturating_sub(3) as usize;
        let mut state = TableState::default()
            .with_offset(scroll_offset(view.selected, height, view.groups.len()))
            .with_selected((!view.groups.is_empty()).then_some(view.selected));
        let table = selectable(
            Table::new(rows, widths)
                .header(header)
                .block(block)
                .column_spacing(1),
        );
        frame.render_stateful_widget(table, list, &mut state);
    }
    if let Some(group) = view.groups.get(view.selected) {
        draw_group(frame, detail, group);
    }
}

/// Green when offsets may be changed, yellow when unknown, red when consumers run.
pub fn state_style(state: &GroupState) -> Style {
    match state {
        GroupState::Unknown(_) => theme::warning(),
        s if s.check_inactive("", false).is_ok() => theme::fine(),
        _ => theme::error(),
    }
}

fn draw_group(frame: &mut Frame, area: Rect, group: &Group) {
    let block = Block::bordered()
        .title(format!(" {} ", text::clean(&group.name)))
        .border_style(theme::border(false));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::styled(
        match &group.state {
            GroupState::Unknown(why) => format!("state unknown: {}", text::clean(why)),
            s if s.is_active() => format!(
                "state {}: active, its consumers are running (offsets cannot be changed)",
                s.name()
            ),
            GroupState::Known(s) => format!("state {s}"),
        },
        state_style(&group.state),
    )];
    for m in &group.members {
        let assigned: Vec<String> = m
            .assignment
            .iter()
            .map(|(t, p)| format!("{}{p:?}", text::clean(t)))
            .collect();
        lines.push(Line::from(format!(
            "member {} {} {} {}",
            text::clean(&m.id),
            text::clean(&m.client_id),
            text::clean(&m.host),
            assigned.join(" ")
        )));
    }
    let top = lines.len() as u16 + 1;
    let [head, table_area] =
        Layout::vertical([Constraint::Length(top), Constraint::Min(1)]).areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), head);
    let header = Row::new(
        [
            "TOPIC",
            "PARTITION",
            " COMMITTED",
            "      HIGH",
            "       LAG",
        ]
        .map(Cell::from),
    )
    .style(theme::heading());
    let show = |v: Option<i64>| v.map_or("-".to_owned(), |v| v.to_string());
    let rows = group.offsets.iter().map(|o| {
        Row::new(vec![
            Cell::from(text::clean(&o.topic)),
            Cell::from(format!("{:>9}", o.partition)),
            Cell::from(format!("{:>10}", show(o.committed))),
            Cell::from(format!("{:>10}", o.high)),
            Cell::from(format!("{:>10}", show(o.lag()))),
        ])
    });
    let widths = [
        Constraint::Min(12),
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(10),
        Constraint::Length(10),
    ];
    frame.render_widget(
        Table::new(rows, widths).header(header).column_spacing(1),
        table_area,
    );
}
