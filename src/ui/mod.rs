//! Drawing: one file per screen or dialog. Draws `&App` only: no I/O, no state changes.

mod dialogs;
mod events;
mod groups;
mod help;
mod state_pane;
mod story;
mod stream;
pub mod text;
mod theme;
mod topics;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Table};
use ratatui::Frame;

use crate::app::{hint_line, App, Input, Place, Screen, Severity};

/// Draws the whole screen.
pub fn draw(frame: &mut Frame, app: &App) {
    let [title, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_title(frame, title, app);
    match &app.screen {
        Screen::Topics => topics::draw(frame, body, app),
        Screen::Events => events::draw(frame, body, app),
        Screen::Stream(view) => stream::draw(frame, body, app, view),
        Screen::Groups => groups::draw(frame, body, app),
        Screen::Story(view) => story::draw(frame, body, view),
    }
    draw_status(frame, status, app);
    dialogs::draw(frame, body, app);
}

fn draw_title(frame: &mut Frame, area: Rect, app: &App) {
    let place = match &app.screen {
        Screen::Topics => "Topics".to_owned(),
        Screen::Events => format!("Topics › {}", app.topic.events.topic),
        Screen::Stream(view) => format!("Topics › {} › {}", app.topic.events.topic, view.aggregate),
        Screen::Groups => "Consumer groups".to_owned(),
        Screen::Story(view) if view.lazy => format!(
            "Topics › {} › {} (read from the topic: not in the loaded events)",
            view.name, view.id
        ),
        Screen::Story(view) => format!("Story {} › {}", view.name, view.id),
    };
    let line = Line::from(vec![
        Span::styled(" rewind ", theme::badge()),
        Span::raw(" "),
        Span::styled(text::clean(&place), theme::heading()),
        Span::styled(format!("  {}", text::clean(&app.brokers)), theme::dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}

fn draw_status(frame: &mut Frame, area: Rect, app: &App) {
    let line = match &app.input {
        Some(Input::Filter(t)) => Line::from(vec![
            Span::styled("/", theme::info()),
            Span::raw(text::clean(t)),
            Span::raw("█"),
        ]),
        Some(Input::Command(t)) => Line::from(vec![
            Span::styled(":", theme::info()),
            Span::raw(text::clean(t)),
            Span::raw("█"),
        ]),
        None if app.disconnected.is_some() => Line::from(vec![
            Span::styled(" disconnected, retrying ", theme::alarm()),
            Span::styled(
                format!(
                    " {}",
                    text::clean(app.disconnected.as_deref().unwrap_or_default())
                ),
                theme::error(),
            ),
        ]),
        None if !app.status.is_empty() => {
            let style = match app.status.severity {
                Severity::Info => ratatui::style::Style::new(),
                Severity::Warning => theme::warning(),
                Severity::Error => theme::error(),
            };
            Line::from(Span::styled(text::clean(&app.status), style))
        }
        None => {
            let hints = hint_line(match app.screen {
                Screen::Topics => Place::Topics,
                Screen::Events => Place::Events,
                Screen::Stream(_) => Place::Stream,
                Screen::Groups => Place::Groups,
                Screen::Story(_) => Place::Story,
            });
            Line::from(Span::styled(hints, theme::dim()))
        }
    };
    frame.render_widget(Paragraph::new(line), area);
}

/// A rectangle of at most `width` × `height` in the middle of `area`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    use ratatui::layout::Flex;
    let [area] = Layout::horizontal([Constraint::Length(width.min(area.width))])
        .flex(Flex::Center)
        .areas(area);
    let [area] = Layout::vertical([Constraint::Length(height.min(area.height))])
        .flex(Flex::Center)
        .areas(area);
    area
}

/// A list table with the selected row highlighted and marked (for monochrome terminals).
pub fn selectable(table: Table<'_>) -> Table<'_> {
    table
        .row_highlight_style(theme::selected())
        .highlight_symbol("▶ ")
}

/// `MM-DD HH:MM:SS` in UTC: enough to tell events apart in a list, and 14 columns wide
/// like every short form.
pub fn short_time(ms: i64) -> String {
    use chrono::Datelike;
    match chrono::DateTime::from_timestamp_millis(ms) {
        Some(t) if (0..=9999).contains(&t.year()) => t.format("%m-%d %H:%M:%S").to_string(),
        // Past the calendar a short form can show (or chrono's range): the number in
        // milliseconds, in scientific notation when it would not fit (a column that cut
        // it would show another number). The event pane shows it whole.
        _ if ms.unsigned_abs() < 10_u64.pow(12) => format!("{ms}ms"),
        _ => format!("{:.3e}ms", ms as f64),
    }
}

/// The first row to show so that `selected` stays near the middle of `height` rows
/// without leaving empty rows at the end of a list of `len`.
pub fn scroll_offset(selected: usize, height: usize, len: usize) -> usize {
    selected
        .saturating_sub(height / 2)
        .min(len.saturating_sub(height))
}

#[cfg(test)]
mod tests {
    use super::short_time;

    #[test]
    fn any_timestamp_has_a_short_form() {
        assert_eq!(short_time(0), "01-01 00:00:00");
        assert_eq!(short_time(-1), "12-31 23:59:59");
        assert_eq!(short_time(253_402_300_800_000), "2.534e14ms");
        assert_eq!(short_time(10_i64.pow(16)), "1.000e16ms");
        assert_eq!(short_time(i64::MIN), "-9.223e18ms");
        for ms in [
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            1 << 62,
            -(1 << 62),
            -62_167_219_200_001,
        ] {
            let short = short_time(ms);
            assert!(short.ends_with("ms") && short.len() <= 14, "{ms}: {short}");
        }
    }
}
