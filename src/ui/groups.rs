//! The Groups screen: groups with state, members and lag; the selected group's members
//! and per-partition offsets.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Paragraph, Row, Sparkline, Table, TableState, Wrap};
use ratatui::Frame;

use super::{scroll_offset, selectable, text, theme};
use crate::app::App;
use crate::app::GROUP_SAMPLE;
use crate::model::group::{duration_label, Group, GroupState, LagHistory};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let view = &app.groups;
    // The detail's offsets table needs 57 columns; the list takes what is left, up to
    // room for 20-character names.
    let list_width = area.width.saturating_sub(57).clamp(45, 61);
    let [list, detail] =
        Layout::horizontal([Constraint::Length(list_width), Constraint::Min(30)]).areas(area);
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
        let header = Row::new(["GROUP", "STATE", "TYPE", "MEMBERS", "    LAG"].map(Cell::from))
            .style(theme::heading());
        let rows = view.groups.iter().map(|g| {
            Row::new(vec![
                Cell::from(text::clean(&g.name)),
                Cell::from(g.state.name().to_owned()).style(state_style(&g.state)),
                Cell::from(g.kind.name()),
                Cell::from(format!("{:>7}", g.members.len())),
                Cell::from(format!("{:>7}", g.lag())),
            ])
        });
        let widths = [
            Constraint::Min(12),
            Constraint::Length(11),
            Constraint::Length(8),
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
        draw_group(frame, detail, group, view.history.get(&group.name));
    }
}

/// Green when offsets may be changed, yellow when unknown, red when consumers run.
pub fn state_style(state: &GroupState) -> Style {
    match state {
        GroupState::Unknown(_) => theme::warning(),
        GroupState::Inactive(_) => theme::fine(),
        GroupState::Active(_) => theme::error(),
    }
}

/// The group's lag trend: how fast it consumes and when it will have caught up.
fn trend_line(group: &Group, history: Option<&LagHistory>) -> Line<'static> {
    let lag = group.lag();
    let behind = group
        .lag_ms()
        .map(|ms| format!(" ({} behind)", duration_label(ms)))
        .unwrap_or_default();
    let Some((rate, eta)) = history.and_then(LagHistory::rate) else {
        return Line::styled(
            format!("lag {lag}{behind}; rate and time to catch up after the next look…"),
            theme::dim(),
        );
    };
    let growing = history.is_some_and(LagHistory::growing);
    match (lag, eta) {
        (0, _) => Line::styled("caught up (lag 0)", theme::fine()),
        (_, Some(s)) => Line::styled(
            format!(
                "lag {lag}{behind}, consuming {rate:.0} events/s: caught up in about {}{}",
                duration_label((s * 1000.0) as i64),
                if growing {
                    " (but the lag is growing)"
                } else {
                    ""
                }
            ),
            match growing {
                true => theme::warning(),
                false => theme::info(),
            },
        ),
        (_, None) => Line::styled(
            format!("lag {lag}{behind}, not consuming (is a consumer of the group running?)"),
            theme::warning(),
        ),
    }
}

fn draw_group(frame: &mut Frame, area: Rect, group: &Group, history: Option<&LagHistory>) {
    let block = Block::bordered()
        .title(format!(" {} ", text::clean(&group.name)))
        .border_style(theme::border(false));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines = vec![Line::styled(
        match &group.state {
            GroupState::Unknown(why) => format!("state unknown: {}", text::clean(why)),
            GroupState::Active(s) => {
                format!("state {s}: active, its consumers are running (offsets cannot be changed)")
            }
            s @ GroupState::Inactive(_) => format!("state {}", s.name()),
        },
        state_style(&group.state),
    )];
    lines.push(Line::styled(
        format!(
            "type {}{}",
            group.kind.name(),
            group
                .protocol
                .as_ref()
                .map(|p| format!(", protocol {}", text::clean(p)))
                .unwrap_or_default()
        ),
        theme::dim(),
    ));
    if let Some(why) = group.kind.reset_refusal(&group.name) {
        lines.push(Line::styled(text::clean(&why), theme::warning()));
    }
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
    lines.push(trend_line(group, history));
    // Rows the lines take once wrapped (word wrapping may take one more).
    let width = inner.width.max(1);
    let top = lines
        .iter()
        .map(|l| (l.width() as u16).div_ceil(width).max(1))
        .sum::<u16>()
        + 1;
    let [head, spark, table_area] = Layout::vertical([
        Constraint::Length(top),
        Constraint::Length(4),
        Constraint::Min(1),
    ])
    .areas(inner);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: true }), head);
    // The lag at each look, newest on the right.
    let lags = history.map(LagHistory::lags).unwrap_or_default();
    let shown = &lags[lags
        .len()
        .saturating_sub(spark.width.saturating_sub(2) as usize)..];
    let high = shown.iter().max().copied().unwrap_or(0);
    frame.render_widget(
        Sparkline::default()
            .block(
                Block::bordered()
                    .title(format!(
                        " lag, a look every {} s (max {high}) ",
                        GROUP_SAMPLE.as_secs()
                    ))
                    .border_style(theme::border(false)),
            )
            .data(shown)
            .max(high.max(1))
            .style(theme::info()),
        spark,
    );
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
