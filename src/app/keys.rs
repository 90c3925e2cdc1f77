//! The keymap: every key, the action it triggers and the text the help screen shows.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::Action;

/// Keys as shown on the help screen: (keys, what they do).
pub const KEYS: &[(&str, &str)] = &[
    ("j / ↓", "move down"),
    ("k / ↑", "move up"),
    ("PgDn / PgUp", "page down / up (also Ctrl-d / Ctrl-u)"),
    ("g / G", "first / last (also Home / End)"),
    (
        "Enter",
        "open the topic; on an event, its aggregate's stream",
    ),
    ("Esc", "back"),
    (
        "l / → , h / ←",
        "stream: step forward / back in time (lists: open / back)",
    ),
    ("s", "stream: skip / unskip the event (what-if)"),
    ("d", "stream: state ↔ diff of the event"),
    (
        "S",
        "stream: rebuild from the latest snapshot ↔ from the first event",
    ),
    (
        "Tab",
        "next pane (events: list ↔ detail; stream: aggregates ↔ timeline)",
    ),
    (
        "/",
        "filter topics or aggregates; search events by key, type, aggregate",
    ),
    ("n / N", "next / previous match"),
    ("m", "mark / unmark the event (kept per cluster)"),
    (
        "'",
        "marks: Enter jumps, r rewinds a group to it, x deletes",
    ),
    (
        "r",
        "rewind a consumer group to the event: plan, then type the group's name",
    ),
    (
        "c",
        "draft the compensating event; type the topic's name to produce it",
    ),
    (
        ":",
        "command: :topic NAME, :agg ID, :goto POS, :group [G], :q",
    ),
    ("f", "follow new events as they arrive (live tail) ↔ stop"),
    ("R", "reload"),
    ("?", "this help"),
    ("q / Ctrl-c", "quit"),
];

/// The action for a key press; `typing` is true while the filter or command line is open.
pub fn action_for(key: KeyEvent, typing: bool) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && key.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    if typing {
        return match key.code {
            KeyCode::Enter => Some(Action::Submit),
            KeyCode::Esc => Some(Action::Cancel),
            KeyCode::Backspace => Some(Action::Erase),
            KeyCode::Tab => Some(Action::NextPane),
            KeyCode::Char(c) if !ctrl => Some(Action::Type(c)),
            _ => None,
        };
    }
    Some(match key.code {
        KeyCode::Char('d') if ctrl => Action::PageDown,
        KeyCode::Char('u') if ctrl => Action::PageUp,
        KeyCode::Char('j') | KeyCode::Down => Action::MoveDown,
        KeyCode::Char('k') | KeyCode::Up => Action::MoveUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::Char('g') | KeyCode::Home => Action::First,
        KeyCode::Char('G') | KeyCode::End => Action::Last,
        KeyCode::Enter => Action::Open,
        KeyCode::Esc => Action::Back,
        KeyCode::Char('l') | KeyCode::Right => Action::StepForward,
        KeyCode::Char('h') | KeyCode::Left => Action::StepBack,
        KeyCode::Char('s') => Action::ToggleSkip,
        KeyCode::Char('d') => Action::ToggleDiff,
        KeyCode::Char('S') => Action::ToggleSnapshotStart,
        KeyCode::Tab => Action::NextPane,
        KeyCode::Char('/') => Action::StartFilter,
        KeyCode::Char('n') => Action::NextMatch,
        KeyCode::Char('N') => Action::PrevMatch,
        KeyCode::Char(':') => Action::StartCommand,
        KeyCode::Char('R') => Action::Refresh,
        KeyCode::Char('m') => Action::Mark,
        KeyCode::Char('\'') => Action::ShowMarks,
        KeyCode::Char('r') => Action::Rewind,
        KeyCode::Char('c') => Action::Compensate,
        KeyCode::Char('x') => Action::Delete,
        KeyCode::Char('f') => Action::Follow,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('q') => Action::Quit,
        _ => return None,
    })
}
