//! The help overlay: every key, from the keymap itself.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use ratatui::Frame;

use super::theme;
use crate::app::KEYMAP;

pub fn draw(frame: &mut Frame, area: Rect) {
    let key_width = KEYMAP
        .iter()
        .map(|b| b.label.chars().count())
        .max()
        .unwrap_or(10);
    let what_width = KEYMAP
        .iter()
        .map(|b| b.desc.chars().count())
        .max()
        .unwrap_or(30);
    // " keys  what" plus the borders.
    let width = (key_width + what_width + 5) as u16;
    let area = super::centered(area, width, KEYMAP.len() as u16 + 4);
    let mut lines: Vec<Line> = KEYMAP
        .iter()
        .map(|b| {
            let (keys, what) = (b.label, b.desc);
            Line::from(vec![
                Span::styled(
                    format!(" {keys:<key_width$}  "),
                    theme::info().add_modifier(Modifier::BOLD),
                ),
                Span::raw(what),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        " ? or Esc closes this help",
        theme::dim(),
    )));
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" Keys ")
                .border_style(theme::border(true)),
        ),
        area,
    );
}
