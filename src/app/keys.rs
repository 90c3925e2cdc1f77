//! The keymap: one table of keys, the action each triggers and the text the help screen
//! shows. Dispatch (`action_for`) and the `?` help (`ui::help`) both read `KEYMAP`, so
//! a key cannot do something the help does not say.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::Action;

/// A key as the table names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A character typed without Ctrl.
    Char(char),
    /// Ctrl and a character.
    Ctrl(char),
    /// A named key.
    Code(KeyCode),
}

/// One row of the help: the keys it lists, what they do, and the action of each key.
#[derive(Debug)]
pub struct Binding {
    pub label: &'static str,
    pub desc: &'static str,
    pub keys: &'static [(Key, Action)],
}

use Action::*;
use Key::{Char, Code, Ctrl};

/// Every key outside text entry, as the help lists them.
pub const KEYMAP: &[Binding] = &[
    Binding {
        label: "j / ↓",
        desc: "move down",
        keys: &[(Char('j'), MoveDown), (Code(KeyCode::Down), MoveDown)],
    },
    Binding {
        label: "k / ↑",
        desc: "move up",
        keys: &[(Char('k'), MoveUp), (Code(KeyCode::Up), MoveUp)],
    },
    Binding {
        label: "PgDn / PgUp",
        desc: "page down / up (also Ctrl-d / Ctrl-u)",
        keys: &[
            (Code(KeyCode::PageDown), PageDown),
            (Ctrl('d'), PageDown),
            (Code(KeyCode::PageUp), PageUp),
            (Ctrl('u'), PageUp),
        ],
    },
    Binding {
        label: "g / G",
        desc: "first / last (also Home / End)",
        keys: &[
            (Char('g'), First),
            (Code(KeyCode::Home), First),
            (Char('G'), Last),
            (Code(KeyCode::End), Last),
        ],
    },
    Binding {
        label: "Enter",
        desc: "open the topic; on an event, its aggregate's stream",
        keys: &[(Code(KeyCode::Enter), Open)],
    },
    Binding {
        label: "Esc",
        desc: "back",
        keys: &[(Code(KeyCode::Esc), Back)],
    },
    Binding {
        label: "l / → , h / ←",
        desc: "stream: step forward / back in time (lists: open / back)",
        keys: &[
            (Char('l'), StepForward),
            (Code(KeyCode::Right), StepForward),
            (Char('h'), StepBack),
            (Code(KeyCode::Left), StepBack),
        ],
    },
    Binding {
        label: "s",
        desc: "stream: skip / unskip the event (what-if)",
        keys: &[(Char('s'), ToggleSkip)],
    },
    Binding {
        label: "d / v",
        desc: "stream: state ↔ diff of the event / ↔ the read model's row (database)",
        keys: &[(Char('d'), ToggleDiff), (Char('v'), ToggleReadModel)],
    },
    Binding {
        label: "S",
        desc: "stream: rebuild from the latest snapshot ↔ from the first event",
        keys: &[(Char('S'), ToggleSnapshotStart)],
    },
    Binding {
        label: "u",
        desc: "stream: the event as upcast (what reducers see) ↔ as stored",
        keys: &[(Char('u'), ToggleUpcast)],
    },
    Binding {
        label: "] / [",
        desc: "stream: next / previous flagged event (! broken invariant, ✗ reducer error), then other aggregates",
        keys: &[(Char(']'), NextFlag), (Char('['), PrevFlag)],
    },
    Binding {
        label: "Tab",
        desc: "next pane (events: list ↔ detail; stream: aggregates ↔ timeline)",
        keys: &[(Code(KeyCode::Tab), NextPane)],
    },
    Binding {
        label: "/",
        desc: "filter topics or aggregates; search events by key, type, aggregate (?JQ: content)",
        keys: &[(Char('/'), StartFilter)],
    },
    Binding {
        label: "n / N",
        desc: "next / previous match",
        keys: &[(Char('n'), NextMatch), (Char('N'), PrevMatch)],
    },
    Binding {
        label: "m",
        desc: "mark / unmark the event (kept per cluster)",
        keys: &[(Char('m'), Mark)],
    },
    Binding {
        label: "'",
        desc: "marks: Enter jumps, r rewinds a group to it, x deletes",
        keys: &[(Char('\''), ShowMarks), (Char('x'), Delete)],
    },
    Binding {
        label: "r",
        desc: "rewind a consumer group to the event: plan, then type the group's name",
        keys: &[(Char('r'), Rewind)],
    },
    Binding {
        label: "c",
        desc: "draft the compensating event; type the topic's name to produce it",
        keys: &[(Char('c'), Compensate)],
    },
    Binding {
        label: ":",
        desc: "command: :topic NAME :agg ID :goto POS :group [G] :story NAME ID :reload :compare FILE :q",
        keys: &[(Char(':'), StartCommand)],
    },
    Binding {
        label: "f",
        desc: "follow new events as they arrive (live tail) ↔ stop",
        keys: &[(Char('f'), Follow)],
    },
    Binding {
        label: "R",
        desc: "reload",
        keys: &[(Char('R'), Refresh)],
    },
    Binding {
        label: "?",
        desc: "this help",
        keys: &[(Char('?'), ToggleHelp)],
    },
    Binding {
        label: "q / Ctrl-c",
        desc: "quit",
        keys: &[(Char('q'), Quit), (Ctrl('c'), Quit)],
    },
];

/// Keys while text is typed (the filter, the command line, a dialog's confirmation):
/// every other key is a character typed.
pub const TYPING: &[(Key, Action)] = &[
    (Code(KeyCode::Enter), Submit),
    (Code(KeyCode::Esc), Cancel),
    (Code(KeyCode::Backspace), Erase),
    (Code(KeyCode::Tab), NextPane),
];

/// Where a hint line is shown: a screen, or a step of a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Topics,
    Events,
    Stream,
    Groups,
    /// The marks list.
    Marks,
    /// A story's timeline.
    Story,
    /// The Rewind dialog's list of groups.
    PickGroup,
    /// The Rewind dialog's plan, waiting for the group's name.
    Commit,
    /// The Rewind dialog, waiting for a candidate logic file.
    Candidate,
    /// The Compensate dialog, waiting for the topic's name.
    Produce,
    /// A dialog showing what was done.
    Outcome,
    /// The Rewind dialog showing what failed.
    Failed,
}

/// One hint: the actions (their first keys are shown) and what they do, in a word.
type Hint = (&'static [Action], &'static str);

/// What each hint line offers, by action and in a word or two; the keys are the
/// keymap's (`keys_for`).
const HINTS: &[(Place, &[Hint])] = &[
    (
        Place::Topics,
        &[
            (&[MoveDown, MoveUp], "move"),
            (&[Open], "open"),
            (&[StartFilter], "filter"),
            (&[StartCommand], "command"),
            (&[Refresh], "reload"),
            (&[ToggleHelp], "help"),
            (&[Quit], "quit"),
        ],
    ),
    (
        Place::Events,
        &[
            (&[MoveDown, MoveUp], "move"),
            (&[Open], "stream"),
            (&[NextPane], "pane"),
            (&[StartFilter], "search"),
            (&[NextMatch, PrevMatch], "match"),
            (&[Mark], "mark"),
            (&[ShowMarks], "marks"),
            (&[Rewind], "rewind"),
            (&[Back], "back"),
            (&[ToggleHelp], "help"),
        ],
    ),
    (
        Place::Stream,
        &[
            (&[StepBack, StepForward], "step"),
            (&[NextPane], "aggregates"),
            (&[StartFilter], "filter"),
            (&[ToggleSkip], "skip"),
            (&[ToggleDiff], "diff"),
            (&[ToggleSnapshotStart], "snapshot"),
            (&[NextFlag, PrevFlag], "flags"),
            (&[Mark], "mark"),
            (&[Rewind], "rewind"),
            (&[Compensate], "compensate"),
            (&[Back], "back"),
            (&[ToggleHelp], "help"),
        ],
    ),
    (
        Place::Groups,
        &[
            (&[MoveDown, MoveUp], "move"),
            (&[Refresh], "reload"),
            (&[Back], "back"),
            (&[ToggleHelp], "help"),
            (&[Quit], "quit"),
        ],
    ),
    (
        Place::Story,
        &[
            (&[StepBack, StepForward], "step"),
            (&[ToggleDiff], "diff"),
            (&[NextFlag, PrevFlag], "flags"),
            (&[Refresh], "reload"),
            (&[Back], "back"),
            (&[ToggleHelp], "help"),
        ],
    ),
    (
        Place::Marks,
        &[
            (&[Open], "jump"),
            (&[Rewind], "rewind a group here"),
            (&[Delete], "delete"),
            (&[Back], "close"),
        ],
    ),
    (
        Place::PickGroup,
        &[
            (&[MoveDown, MoveUp], "choose a group"),
            (&[Open], "see the plan"),
            (&[NextPane], "candidate logic"),
            (&[Back], "close"),
        ],
    ),
    (
        Place::Commit,
        &[(&[Submit], "commit"), (&[Cancel], "back to the groups")],
    ),
    (
        Place::Candidate,
        &[(&[Submit], "load (empty: none)"), (&[Cancel], "back")],
    ),
    (
        Place::Produce,
        &[(&[Submit], "produce"), (&[Cancel], "close")],
    ),
    (Place::Outcome, &[(&[Back], "close")]),
    (Place::Failed, &[(&[Back], "back to the groups")]),
];

/// How the help and the hints name a key.
pub fn key_name(key: Key) -> String {
    match key {
        Char(c) => c.to_string(),
        Ctrl(c) => format!("Ctrl-{c}"),
        Code(KeyCode::Down) => "↓".into(),
        Code(KeyCode::Up) => "↑".into(),
        Code(KeyCode::Left) => "←".into(),
        Code(KeyCode::Right) => "→".into(),
        Code(KeyCode::PageDown) => "PgDn".into(),
        Code(KeyCode::PageUp) => "PgUp".into(),
        Code(code) => format!("{code:?}"),
    }
}

/// The first key of each action, as in "j/k": from `TYPING` while typing, else from
/// the keymap.
pub fn keys_for(actions: &[Action], typing: bool) -> String {
    key_names(actions, typing).join("/")
}

fn key_names(actions: &[Action], typing: bool) -> Vec<String> {
    let first = |action: &Action| -> Option<Key> {
        let mut keys: Box<dyn Iterator<Item = &(Key, Action)>> = match typing {
            true => Box::new(TYPING.iter()),
            false => Box::new(KEYMAP.iter().flat_map(|b| b.keys.iter())),
        };
        keys.find(|(_, a)| a == action).map(|(k, _)| *k)
    };
    actions
        .iter()
        .filter_map(|a| first(a).map(key_name))
        .collect()
}

/// The hint line of a place: "j/k move  Enter open  …".
pub fn hint_line(place: Place) -> String {
    let typing = matches!(place, Place::Commit | Place::Candidate | Place::Produce);
    HINTS
        .iter()
        .filter(|(p, _)| *p == place)
        .flat_map(|(_, items)| items.iter())
        .map(|(actions, what)| format!("{} {what}", keys_for(actions, typing)))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The action for a key press; `typing` is true while the filter or command line (or
/// a confirmation) takes the keys.
pub fn action_for(key: KeyEvent, typing: bool) -> Option<Action> {
    if key.kind == KeyEventKind::Release {
        return None;
    }
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    let pressed = match key.code {
        KeyCode::Char(c) if ctrl => Ctrl(c),
        KeyCode::Char(c) => Char(c),
        code => Code(code),
    };
    if pressed == Ctrl('c') {
        return Some(Quit);
    }
    if typing {
        let bound = TYPING.iter().find(|(k, _)| *k == pressed);
        return match (bound, pressed) {
            (Some((_, action)), _) => Some(action.clone()),
            (None, Char(c)) => Some(Type(c)),
            _ => None,
        };
    }
    KEYMAP
        .iter()
        .flat_map(|b| b.keys.iter())
        .find(|(k, _)| *k == pressed)
        .map(|(_, action)| action.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(key: Key) -> KeyEvent {
        match key {
            Char(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE),
            Ctrl(c) => KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL),
            Code(code) => KeyEvent::new(code, KeyModifiers::NONE),
        }
    }

    #[test]
    fn every_key_does_what_its_help_row_says_and_no_key_is_bound_twice() {
        let mut seen = Vec::new();
        for binding in KEYMAP {
            for (key, action) in binding.keys {
                assert!(!seen.contains(key), "{key:?} is bound twice");
                seen.push(*key);
                assert_eq!(
                    action_for(press(*key), false).as_ref(),
                    Some(action),
                    "{key:?}"
                );
                // The help row names the key (letters as themselves, Ctrl-x, arrows).
                let named = match key {
                    Char(c) => binding.label.contains(*c) || binding.desc.contains(*c),
                    Ctrl(c) => {
                        binding.label.contains(&format!("Ctrl-{c}"))
                            || binding.desc.contains(&format!("Ctrl-{c}"))
                    }
                    Code(_) => true,
                };
                assert!(
                    named,
                    "{key:?} is not named in the help row `{}`",
                    binding.label
                );
            }
        }
    }

    #[test]
    fn every_action_a_screen_handles_has_a_key_in_the_help() {
        // The actions `App::update` handles outside text entry; text entry has its own keys.
        let handled = [
            MoveDown,
            MoveUp,
            PageDown,
            PageUp,
            First,
            Last,
            Open,
            Back,
            Quit,
            ToggleHelp,
            NextPane,
            StartFilter,
            StartCommand,
            NextMatch,
            PrevMatch,
            Refresh,
            StepBack,
            StepForward,
            ToggleSkip,
            ToggleDiff,
            ToggleSnapshotStart,
            Mark,
            ShowMarks,
            Rewind,
            Compensate,
            Delete,
            Follow,
            ToggleUpcast,
            NextFlag,
            PrevFlag,
            ToggleReadModel,
        ];
        for action in &handled {
            assert!(
                KEYMAP
                    .iter()
                    .any(|b| b.keys.iter().any(|(_, a)| a == action)),
                "{action:?} has no key in the help"
            );
        }
        // Every action is one of those or text entry's. The match numbers the variants
        // and has no wildcard: a variant added to `Action` does not compile here until
        // it has a number, and then fails until it is in one of the two lists.
        let typed = [Type('x'), Erase, Submit, Cancel];
        const VARIANTS: usize = 35;
        let number = |action: &Action| match action {
            MoveDown => 0,
            MoveUp => 1,
            PageDown => 2,
            PageUp => 3,
            First => 4,
            Last => 5,
            Open => 6,
            Back => 7,
            Quit => 8,
            ToggleHelp => 9,
            NextPane => 10,
            StartFilter => 11,
            StartCommand => 12,
            NextMatch => 13,
            PrevMatch => 14,
            Refresh => 15,
            StepBack => 16,
            StepForward => 17,
            ToggleSkip => 18,
            ToggleDiff => 19,
            ToggleSnapshotStart => 20,
            Mark => 21,
            ShowMarks => 22,
            Rewind => 23,
            Compensate => 24,
            Delete => 25,
            Follow => 26,
            ToggleUpcast => 27,
            NextFlag => 28,
            PrevFlag => 29,
            ToggleReadModel => 30,
            Type(_) => 31,
            Erase => 32,
            Submit => 33,
            Cancel => 34,
        };
        let listed: std::collections::BTreeSet<usize> =
            handled.iter().chain(&typed).map(number).collect();
        assert_eq!(
            listed,
            (0..VARIANTS).collect(),
            "an action is neither handled by a screen nor text entry's"
        );
        // Text entry's keys: characters, Backspace, Enter and Esc while typing.
        assert_eq!(
            action_for(press(Code(KeyCode::Backspace)), true),
            Some(Erase)
        );
        assert_eq!(action_for(press(Code(KeyCode::Enter)), true), Some(Submit));
    }

    #[test]
    fn every_hint_names_a_key_for_each_of_its_actions() {
        for (place, items) in HINTS {
            let typing = matches!(place, Place::Commit | Place::Candidate | Place::Produce);
            for (actions, what) in *items {
                let keys = key_names(actions, typing);
                assert_eq!(
                    keys.len(),
                    actions.len(),
                    "{place:?}: `{what}` lacks a key ({keys:?})"
                );
            }
        }
        assert_eq!(
            hint_line(Place::Topics),
            "j/k move  Enter open  / filter  : command  R reload  ? help  q quit"
        );
        assert_eq!(
            hint_line(Place::Commit),
            "Enter commit  Esc back to the groups"
        );
    }

    #[test]
    fn typing_takes_characters_and_ctrl_c_always_quits() {
        assert_eq!(action_for(press(Char('q')), true), Some(Type('q')));
        assert_eq!(action_for(press(Ctrl('c')), true), Some(Quit));
        assert_eq!(action_for(press(Code(KeyCode::Esc)), true), Some(Cancel));
        assert_eq!(action_for(press(Char('q')), false), Some(Quit));
        assert_eq!(action_for(press(Char('z')), false), None);
    }

    #[test]
    fn the_readme_key_table_names_every_key_of_the_keymap() {
        let readme = include_str!("../../README.md");
        let table: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
        for binding in KEYMAP {
            for (key, _) in binding.keys {
                let shown = match key {
                    Char(c) => format!("`{c}`"),
                    Ctrl(c) => format!("Ctrl-{c}"),
                    Code(KeyCode::Down) => "`↓`".into(),
                    Code(KeyCode::Up) => "`↑`".into(),
                    Code(KeyCode::Left) => "`←`".into(),
                    Code(KeyCode::Right) => "`→`".into(),
                    Code(KeyCode::PageDown) => "`PgDn`".into(),
                    Code(KeyCode::PageUp) => "`PgUp`".into(),
                    Code(KeyCode::Home) => "Home".into(),
                    Code(KeyCode::End) => "End".into(),
                    Code(KeyCode::Enter) => "`Enter`".into(),
                    Code(KeyCode::Esc) => "`Esc`".into(),
                    Code(KeyCode::Tab) => "`Tab`".into(),
                    Code(other) => format!("{other:?}"),
                };
                assert!(
                    table.iter().any(|row| row.contains(&shown)),
                    "README's key table does not show {shown} ({})",
                    binding.desc
                );
            }
        }
    }
}
