//! One theme: every colour and emphasis the screens use, named for what it means.
//!
//! Only the 16 ANSI colours, which a terminal's palette adapts to its light or dark
//! background, and never white or black text except on a coloured background: what is
//! drawn stays readable on both.

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};

use super::text;

/// The colour of focus: the title badge, focused borders, the selected row.
pub const ACCENT: Color = Color::Cyan;

/// A pane's border: the accent when it has focus, dim when not.
pub fn border(focused: bool) -> Style {
    Style::new().fg(if focused { ACCENT } else { Color::DarkGray })
}

/// Table headers, field names that lead a line, what to type.
pub fn heading() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// Labels, hints and what is secondary.
pub fn dim() -> Style {
    Style::new().fg(Color::DarkGray)
}

/// A failure, a refusal, a value that diverges.
pub fn error() -> Style {
    Style::new().fg(Color::Red)
}

/// Something to look at twice: a skipped event, a duplicate, an unknown state.
pub fn warning() -> Style {
    Style::new().fg(Color::Yellow)
}

/// What went through.
pub fn success() -> Style {
    Style::new().fg(Color::Green).add_modifier(Modifier::BOLD)
}

/// A fine state (an inactive group).
pub fn fine() -> Style {
    Style::new().fg(Color::Green)
}

/// Links between events (compensations).
pub fn link() -> Style {
    Style::new().fg(Color::Magenta)
}

/// Neutral information in colour: where a state was rebuilt from, header names.
pub fn info() -> Style {
    Style::new().fg(ACCENT)
}

/// The selected row of a list.
pub fn selected() -> Style {
    Style::new().bg(ACCENT).fg(Color::Black)
}

/// The `rewind` badge of the title bar.
pub fn badge() -> Style {
    selected().add_modifier(Modifier::BOLD)
}

/// The badge that says the broker is unreachable.
pub fn alarm() -> Style {
    Style::new()
        .fg(Color::White)
        .bg(Color::Red)
        .add_modifier(Modifier::BOLD)
}

/// A progress bar.
pub fn gauge() -> Style {
    Style::new().fg(ACCENT).bg(Color::DarkGray)
}

/// A JSON Patch operation in a diff.
pub fn diff_op(op: &str) -> Style {
    match op {
        "add" => Style::new().fg(Color::Green),
        "remove" => Style::new().fg(Color::Red),
        _ => Style::new().fg(Color::Yellow),
    }
}

/// What the cursor's event changed: drawn over the syntax colours, bold and underlined
/// so it shows on any background and in any colour.
pub fn changed() -> Style {
    Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
}

fn json_key() -> Style {
    Style::new().fg(Color::Blue).add_modifier(Modifier::BOLD)
}

fn json_string() -> Style {
    Style::new().fg(Color::Green)
}

fn json_number() -> Style {
    Style::new().fg(Color::Magenta)
}

fn json_literal() -> Style {
    Style::new().fg(Color::Cyan)
}

/// Pretty-printed JSON as lines with syntax colours: keys, strings, numbers and
/// `true`/`false`/`null`; punctuation in the terminal's own colour. Lines for which
/// `changed` says yes (by line number) are also drawn in the `changed()` style. Text is
/// cleaned of control characters; what is not JSON is drawn as it is.
pub fn json_lines(pretty: &str, changed: &dyn Fn(usize) -> bool) -> Vec<Line<'static>> {
    pretty
        .lines()
        .enumerate()
        .map(|(n, line)| {
            let mut spans = json_spans(line);
            if changed(n) {
                for span in &mut spans {
                    span.style = span.style.patch(self::changed());
                }
            }
            Line::from(spans)
        })
        .collect()
}

/// One line of pretty JSON in coloured spans.
fn json_spans(line: &str) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    let mut plain = String::new();
    let mut rest = line;
    while let Some(c) = rest.chars().next() {
        let (token, style) = if c == '"' {
            let token = &rest[..string_end(rest)];
            let is_key = rest[token.len()..].trim_start().starts_with(':');
            (token, if is_key { json_key() } else { json_string() })
        } else if c == '-' || c.is_ascii_digit() {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))
                .unwrap_or(rest.len());
            (&rest[..end], json_number())
        } else if let Some(word) = ["true", "false", "null"]
            .into_iter()
            .find(|w| rest.starts_with(w))
        {
            (&rest[..word.len()], json_literal())
        } else {
            plain.push(c);
            rest = &rest[c.len_utf8()..];
            continue;
        };
        if !plain.is_empty() {
            spans.push(Span::raw(text::clean(&std::mem::take(&mut plain))));
        }
        spans.push(Span::styled(text::clean(token), style));
        rest = &rest[token.len()..];
    }
    if !plain.is_empty() {
        spans.push(Span::raw(text::clean(&plain)));
    }
    spans
}

/// The length of the JSON string that opens `s` (to its closing quote, escapes
/// skipped; the whole of `s` when it does not close).
fn string_end(s: &str) -> usize {
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return i + 1,
            _ => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styled(line: &Line<'_>) -> Vec<(String, Style)> {
        line.spans
            .iter()
            .map(|s| (s.content.to_string(), s.style))
            .collect()
    }

    #[test]
    fn keys_strings_numbers_and_literals_have_their_colours() {
        let value = serde_json::json!({"id": "a \"quoted\": b", "n": -1.5e3, "ok": true, "none": null, "list": [1, "x"]});
        let pretty = serde_json::to_string_pretty(&value).unwrap();
        let lines = json_lines(&pretty, &|_| false);
        let text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(text.join("\n"), pretty, "the text is unchanged");
        assert_eq!(
            styled(&lines[1]),
            [
                ("  ".into(), Style::new()),
                ("\"id\"".into(), json_key()),
                (": ".into(), Style::new()),
                ("\"a \\\"quoted\\\": b\"".into(), json_string()),
                (",".into(), Style::new()),
            ]
        );
        assert_eq!(styled(&lines[2])[3], ("-1500.0".into(), json_number()));
        assert_eq!(styled(&lines[3])[3], ("true".into(), json_literal()));
        assert_eq!(styled(&lines[4])[3], ("null".into(), json_literal()));
        assert_eq!(styled(&lines[6])[1], ("1".into(), json_number()));
        assert_eq!(styled(&lines[7])[1], ("\"x\"".into(), json_string()));
    }

    #[test]
    fn changed_lines_are_marked_over_their_colours() {
        let lines = json_lines("{\n  \"a\": 1,\n  \"b\": 2\n}", &|n| n == 2);
        assert!(styled(&lines[1])
            .iter()
            .all(|(_, s)| *s != s.patch(changed())));
        assert_eq!(
            styled(&lines[2])[1],
            ("\"b\"".into(), json_key().patch(changed()))
        );
    }

    #[test]
    fn what_is_not_json_is_drawn_as_it_is() {
        for odd in ["\"unterminated", "\u{1b}[31m", "{\"k\":", "-", "nul", ""] {
            let line = &json_lines(odd, &|_| true).into_iter().next();
            let text = line.as_ref().map(|l| l.to_string()).unwrap_or_default();
            assert_eq!(text, text::clean(odd));
        }
    }
}
