//! The TUI's state machine: keys become `Action`s, `update` changes the state and
//! returns `Command`s for the worker, whose `Msg`s are applied back. No I/O here.

mod apply;
mod compensate;
mod groups;
mod keys;
mod lab;
mod marks;
mod messages;
mod overlay;
mod read_model;
mod rewind;
mod run;
pub mod status;
mod story;
mod stream;
pub mod terminal;
mod topic;
pub mod worker;

use crate::config::Config;
use crate::model::{Event, TopicInfo};
pub use status::{Severity, Status};

pub use compensate::CompensateDialog;
pub use groups::{GroupsView, GROUP_SAMPLE};
pub use keys::{action_for, hint_line, keys_for, Binding, Place, KEYMAP};
pub use messages::{
    Action, CandidateUse, Command, Direction, ErrorKind, Msg, PlanId, Requests, SearchId, StoryId,
    WatchId, WorkerError,
};
pub use overlay::Overlay;
pub use read_model::ReadModelView;
pub use rewind::{Candidate, OutcomeView, RewindDialog, RewindStep, Rewound};
pub use run::{pump, run, run_file, submit};
pub use story::{StoryRead, StoryView, Strand, Timeline};
pub use stream::{AggregatesView, Compare, StreamView, Tick};
pub use topic::{ContentSearch, EventsView, OpenTopic};

/// The screens; the Stream screen holds its stream, so one is open exactly while it
/// is shown (or kept behind the Groups screen, to go back to).
#[derive(Debug)]
pub enum Screen {
    Topics,
    Events,
    /// One aggregate's timeline with the state folded at the cursor.
    Stream(Box<StreamView>),
    /// Consumer groups: state, members, offsets and lag.
    Groups,
    /// One business id across several topics (`:story NAME ID`).
    Story(Box<StoryView>),
}

/// The two panes of a list-and-detail screen; Tab goes to the other.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Pane {
    /// The list (of events): the cursor moves.
    #[default]
    List,
    /// The detail (the event): it scrolls.
    Detail,
}

impl Pane {
    pub fn other(self) -> Pane {
        match self {
            Pane::List => Pane::Detail,
            Pane::Detail => Pane::List,
        }
    }
}

/// The line being typed at the bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Filter(String),
    Command(String),
}

/// The topics list.
#[derive(Debug, Default)]
pub struct TopicsView {
    pub all: Vec<TopicInfo>,
    pub filter: String,
    pub selected: usize,
    pub loading: bool,
    pub error: Option<WorkerError>,
    /// The topics' ids (KIP-516) as the cluster gave them: a mark made on a topic since
    /// deleted and made again under its name is told by them.
    pub ids: std::collections::HashMap<String, String>,
}

impl TopicsView {
    /// The topics that match the filter.
    pub fn visible(&self) -> Vec<&TopicInfo> {
        let needle = self.filter.to_lowercase();
        self.all
            .iter()
            .filter(|t| t.name.to_lowercase().contains(&needle))
            .collect()
    }
}

/// Where a timeline's cursor goes on a step, page, first or last key; `None`: the
/// action does not move it.
pub(super) fn stepped(action: &Action, cursor: usize, last: usize, page: usize) -> Option<usize> {
    Some(match action {
        Action::StepForward | Action::MoveDown => (cursor + 1).min(last),
        Action::StepBack | Action::MoveUp => cursor.saturating_sub(1),
        Action::PageDown => (cursor + page).min(last),
        Action::PageUp => cursor.saturating_sub(page),
        Action::First => 0,
        Action::Last => last,
        _ => return None,
    })
}

/// Events a topic may hold before it opens on its newest window (`[limits] open_events`).
pub const DEFAULT_OPEN_EVENTS: u64 = 5_000_000;

/// The whole TUI state.
pub struct App {
    pub brokers: String,
    pub screen: Screen,
    pub topics: TopicsView,
    /// The open topic (the Events screen's and every stream's of it).
    pub topic: OpenTopic,
    pub input: Option<Input>,
    pub status: Status,
    pub quit: bool,
    pub page: usize,
    config: Config,
    /// Numbers the open topic's load; answers of an earlier one are dropped.
    generation: u64,
    /// The last request of each kind, whose answer must carry its number.
    requests: Requests,
    /// The window over the screen, if one is open.
    pub overlay: Option<Overlay>,
    /// This cluster's marks, and the file they are saved to.
    pub marks: Vec<crate::model::mark::Mark>,
    pub marks_file: Option<std::path::PathBuf>,
    pub groups: GroupsView,
    /// Writes are refused (shown before the user confirms anything).
    pub read_only: bool,
    /// `rewind --file`: the dump shown instead of a cluster.
    pub offline: Option<String>,
    /// The client properties (-X, profile), for the equivalent commands shown in plans
    /// (secrets redacted there).
    pub properties: Vec<(String, String)>,
    /// Set while the worker cannot reach the broker and is retrying.
    pub disconnected: Option<String>,
    /// Commands made while applying worker reports (fetches), for the run loop.
    outbox: Vec<Command>,
    /// A coordinate to show once the topic being loaded is in.
    pending_jump: Option<crate::model::Coord>,
    /// `v` is on: each stream opened shows its read model's row.
    read_model_on: bool,
}

impl App {
    /// A new app for a cluster; `start()` gives the first commands.
    pub fn new(brokers: String, config: Config) -> App {
        App {
            brokers,
            screen: Screen::Topics,
            topics: TopicsView::default(),
            topic: OpenTopic::default(),
            input: None,
            status: Status::default(),
            quit: false,
            page: 20,
            config,
            generation: 0,
            requests: Requests::default(),
            overlay: None,
            marks: vec![],
            marks_file: None,
            groups: GroupsView::default(),
            read_only: false,
            offline: None,
            properties: vec![],
            disconnected: None,
            outbox: vec![],
            pending_jump: None,
            read_model_on: false,
        }
    }

    /// The config in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The open stream: the Stream screen's.
    pub fn stream(&self) -> Option<&StreamView> {
        match &self.screen {
            Screen::Stream(view) => Some(view),
            _ => None,
        }
    }

    /// The config's warnings, for the status bar.
    pub fn config_warnings(&self) -> Status {
        Status::warning(self.config.warnings.join("; "))
    }

    /// The commands to run when the TUI opens.
    #[must_use]
    pub fn start(&mut self) -> Vec<Command> {
        self.topics.loading = true;
        vec![Command::LoadTopics]
    }

    /// Applies one user intent; the commands it returns must reach the worker.
    #[must_use]
    pub fn update(&mut self, action: Action) -> Vec<Command> {
        let commands = self.update_inner(action);
        self.commands_with(commands)
    }

    /// `commands`, then those the change made on its way (payloads the screen now
    /// shows, a sample due, a plan's outcome): what every door out of the app hands
    /// the worker.
    fn commands_with(&mut self, mut commands: Vec<Command>) -> Vec<Command> {
        self.want_current();
        commands.append(&mut self.outbox);
        commands
    }

    /// Asks for payloads not in memory (once each).
    pub(super) fn fetch(&mut self, coords: Vec<crate::model::Coord>) {
        let coords: Vec<_> = coords
            .into_iter()
            .filter(|c| self.decode_kept(*c).is_none())
            .collect();
        let coords: Vec<_> = coords
            .into_iter()
            .filter(|c| self.topic.requested.insert(*c))
            .collect();
        // Kept but framed with a schema not fetched yet: the worker decodes the bytes
        // (no read of the topic again).
        let (kept, coords): (Vec<_>, Vec<_>) = coords
            .into_iter()
            .partition(|c| self.topic.events.kept.contains_key(c));
        if !kept.is_empty() {
            let records = kept
                .iter()
                .filter_map(|c| self.topic.events.kept.get(c).cloned())
                .collect();
            self.outbox.push(Command::DecodeKept {
                topic: self.topic.events.topic.clone(),
                generation: self.generation,
                records,
            });
        }
        if !coords.is_empty() {
            self.outbox.push(Command::Fetch {
                topic: self.topic.events.topic.clone(),
                generation: self.generation,
                coords,
            });
        }
    }

    /// The event at `at` decoded from the bytes kept from the load, if they were (it is
    /// cached, and kept for a stream being opened).
    pub(super) fn decode_kept(&mut self, at: crate::model::Coord) -> Option<std::rc::Rc<Event>> {
        let record = self.topic.events.kept.get(&at)?;
        let rules = self.config.rules_for(&self.topic.events.topic);
        let raw = record.raw(&self.topic.events.topic);
        // A schema not fetched yet is fetched by the worker, which decodes it there.
        if rules.payloads.asks_registry(raw.key, raw.value) {
            return None;
        }
        let mut event = Event::decode(&raw, &rules);
        event.transaction = self.topic.events.index.transaction(at);
        let event = std::rc::Rc::new(event);
        self.topic.events.cache.insert(event.clone());
        Some(event)
    }

    /// The event under the cursor is shown whole: fetch it if it is not in memory.
    pub(super) fn want_current(&mut self) {
        if let Some(i) = self.current_index() {
            let at = self.topic.events.index.get(i).coord();
            if self.topic.events.event(i).is_none()
                && !self.topic.events.unreadable.contains_key(&at)
            {
                self.fetch(vec![at]);
            }
        }
    }

    fn update_inner(&mut self, action: Action) -> Vec<Command> {
        if self.input.is_some() {
            return self.update_input(action);
        }
        if self.overlay.is_some() {
            return self.update_overlay(action);
        }
        if matches!(self.screen, Screen::Story(_)) {
            if let Some(commands) = self.update_story(&action) {
                return commands;
            }
        }
        match action {
            Action::Mark => return self.toggle_mark(),
            Action::ShowMarks => {
                self.status.clear();
                self.overlay = Some(Overlay::Marks { selected: 0 });
                return vec![];
            }
            Action::Rewind if self.offline.is_some() => {
                self.status =
                    Status::warning(self.offline_reason("there are no consumer groups to rewind"));
                return vec![];
            }
            Action::Rewind => {
                return match self.current_mark() {
                    Some(m) => self.start_rewind(m),
                    None => {
                        self.status = Status::warning("open a topic and put the cursor on an event (or pick a mark with ') to rewind to it");
                        vec![]
                    }
                };
            }
            Action::Compensate => return self.start_compensate(),
            Action::Follow => return self.toggle_follow(),
            Action::NextFlag | Action::PrevFlag => {
                return self.jump_flag(Direction::of(action == Action::NextFlag))
            }
            Action::ToggleUpcast => {
                if let Screen::Stream(view) = &mut self.screen {
                    view.raw = !view.raw;
                }
                return vec![];
            }
            _ => {}
        }
        if matches!(self.screen, Screen::Stream(_)) {
            if let Some(commands) = self.update_stream(&action) {
                return commands;
            }
        }
        if matches!(self.screen, Screen::Groups) {
            if let Some(commands) = self.update_groups(&action) {
                return commands;
            }
        }
        let action = match action {
            Action::StepForward => Action::Open,
            Action::StepBack => Action::Back,
            other => other,
        };
        match action {
            Action::Quit => self.quit = true,
            Action::ToggleHelp => self.overlay = Some(Overlay::Help),
            Action::StartCommand => self.input = Some(Input::Command(String::new())),
            Action::StartFilter => {
                let current = match self.screen {
                    Screen::Topics => self.topics.filter.clone(),
                    Screen::Events => self.topic.events.search.clone(),
                    Screen::Stream(_) => self.topic.aggregates.filter.clone(),
                    Screen::Groups | Screen::Story(_) => return vec![],
                };
                self.input = Some(Input::Filter(current));
            }
            Action::Refresh if matches!(self.screen, Screen::Topics) => {
                self.topics.loading = true;
                return vec![Command::LoadTopics];
            }
            Action::Refresh => {
                let topic = self.topic.events.topic.clone();
                let window = self.topic.events.window;
                return self.open_topic_in(&topic, Some(window));
            }
            Action::Open if matches!(self.screen, Screen::Topics) => {
                let name = self
                    .topics
                    .visible()
                    .get(self.topics.selected)
                    .map(|t| t.name.clone());
                if let Some(name) = name {
                    return self.open_topic(&name);
                }
            }
            Action::Open if matches!(self.screen, Screen::Events) => {
                // The index knows the aggregate: no payload needed to open its stream.
                if self.topic.events.selected < self.topic.events.len() {
                    let at = self.topic.events.selected;
                    let aggregate = self.topic.events.index.get(at).aggregate().to_owned();
                    self.open_stream(&aggregate, Some(at));
                }
            }
            Action::Back if matches!(self.screen, Screen::Events) => {
                self.screen = Screen::Topics;
                self.generation += 1;
                self.topic.following = false;
                // Superseded: the worker stops loading and following the topic.
                return vec![Command::StopTopic];
            }
            Action::NextPane if matches!(self.screen, Screen::Events) => {
                self.topic.events.pane = self.topic.events.pane.other();
            }
            Action::NextMatch | Action::PrevMatch if matches!(self.screen, Screen::Events) => {
                match self
                    .topic
                    .events
                    .find(Direction::of(action == Action::NextMatch))
                {
                    Some(i) => self.topic.events.selected = i,
                    None => {
                        self.status = Status::info(match &self.topic.events.content {
                            Some(c) => format!("{} — none to go to", c.summary()),
                            None => format!("no match for `{}`", self.topic.events.search),
                        })
                    }
                }
                self.topic.events.detail_scroll = 0;
            }
            other => self.move_cursor(other),
        }
        vec![]
    }

    fn move_cursor(&mut self, action: Action) {
        let page = self.page.max(1);
        if matches!(self.screen, Screen::Events) && self.topic.events.pane == Pane::Detail {
            let scroll = &mut self.topic.events.detail_scroll;
            match action {
                Action::MoveDown => *scroll = scroll.saturating_add(1),
                Action::MoveUp => *scroll = scroll.saturating_sub(1),
                Action::PageDown => *scroll = scroll.saturating_add(page as u16),
                Action::PageUp => *scroll = scroll.saturating_sub(page as u16),
                Action::First => *scroll = 0,
                _ => {}
            }
            return;
        }
        let topics_len = self.topics.visible().len();
        let events_len = self.topic.events.len();
        let (selected, len) = match self.screen {
            Screen::Topics => (&mut self.topics.selected, topics_len),
            Screen::Events | Screen::Stream(_) => (&mut self.topic.events.selected, events_len),
            Screen::Groups | Screen::Story(_) => return,
        };
        let last = len.saturating_sub(1);
        *selected = match action {
            Action::MoveDown => (*selected + 1).min(last),
            Action::MoveUp => selected.saturating_sub(1),
            Action::PageDown => (*selected + page).min(last),
            Action::PageUp => selected.saturating_sub(page),
            Action::First => 0,
            Action::Last => last,
            _ => *selected,
        };
        if matches!(self.screen, Screen::Events) {
            self.topic.events.detail_scroll = 0;
        }
    }

    fn update_input(&mut self, action: Action) -> Vec<Command> {
        let Some(input) = self.input.as_mut() else {
            return vec![];
        };
        let text = match input {
            Input::Filter(t) | Input::Command(t) => t,
        };
        match action {
            Action::Type(c) => text.push(c),
            Action::Erase => {
                text.pop();
            }
            Action::Cancel => self.input = None,
            Action::Submit => {
                let input = self.input.take().expect("input is open");
                return match input {
                    Input::Filter(f) => self.apply_filter(f),
                    Input::Command(c) => self.run_command_line(&c),
                };
            }
            _ => {}
        }
        // The topics and aggregates filters apply as you type.
        match (&self.input, &self.screen) {
            (Some(Input::Filter(f)), Screen::Topics) => {
                self.topics.filter = f.clone();
                self.topics.selected = 0;
            }
            (Some(Input::Filter(f)), Screen::Stream(_)) => self.filter_aggregates(f.clone(), false),
            _ => {}
        }
        vec![]
    }

    /// Applies a submitted filter; on Events it moves to the first match, whose payload
    /// may have to be fetched (the commands say so).
    #[must_use]
    fn apply_filter(&mut self, filter: String) -> Vec<Command> {
        match self.screen {
            Screen::Topics => {
                self.topics.filter = filter;
                self.topics.selected = 0;
            }
            Screen::Stream(_) => self.filter_aggregates(filter, true),
            Screen::Groups | Screen::Story(_) => {}
            Screen::Events if filter.starts_with('?') => return self.search_contents(&filter[1..]),
            Screen::Events => {
                self.topic.events.content = None;
                self.topic.events.search = filter;
                if !self.topic.events.search.is_empty() {
                    let here = !self.topic.events.is_empty()
                        && self.topic.events.matches(self.topic.events.selected);
                    if !here {
                        return self.update(Action::NextMatch);
                    }
                }
            }
        }
        vec![]
    }

    fn run_command_line(&mut self, line: &str) -> Vec<Command> {
        let (verb, arg) = line.trim().split_once(' ').unwrap_or((line.trim(), ""));
        let arg = arg.trim();
        match verb {
            "topic" | "t" if !arg.is_empty() => {
                let words: Vec<&str> = arg.split_whitespace().collect();
                let (name, flags) = (words[0], &words[1..]);
                let window = match crate::model::select::Window::parse(flags) {
                    Ok(w) => w,
                    Err(e) => {
                        self.status = Status::error(format!(":topic {name}: {e}"));
                        return vec![];
                    }
                };
                // On a cluster, a topic that is not listed is asked for all the same:
                // brokers list only what the ACLs let this principal describe (and
                // the broker's answer, not found or not authorized, is what the load
                // says). A dump holds what it lists.
                let listed = self.topics.all.iter().any(|t| t.name == name);
                if self.offline.is_some() && !listed {
                    self.status = Status::warning(format!(
                        "the dump holds no topic `{name}` (press Esc for the topics list)"
                    ));
                    return vec![];
                }
                return self.open_topic_in(name, (!flags.is_empty()).then_some(window));
            }
            "agg" | "a" if !arg.is_empty() => return self.open_aggregate(arg),
            "goto" | "g" if !arg.is_empty() => self.goto(arg),
            "group" | "groups" if self.offline.is_some() => {
                self.status =
                    Status::warning(self.offline_reason("there are no consumer groups to show"));
            }
            "group" | "groups" => return self.open_groups(Some(arg).filter(|a| !a.is_empty())),
            "reload" => return self.reload_config(),
            "compare" => return self.set_compare(arg),
            "drift" => return self.start_drift(),
            "story" => return self.open_story(arg),
            "q" | "quit" => self.quit = true,
            "" => {}
            _ => {
                self.status = Status::warning(format!(
                    "unknown command `:{}`; try :topic NAME (? for help)",
                    line.trim()
                ))
            }
        }
        vec![]
    }

    /// `/?JQ`: compiles the predicate here (an error is one line, nothing runs), then
    /// asks the worker to search the loaded window; matches stream in.
    fn search_contents(&mut self, code: &str) -> Vec<Command> {
        let code = code.trim();
        if let Err(e) = crate::model::search::Where::compile(code) {
            self.status = Status::error(format!("?{code}: {e}"));
            return vec![];
        }
        let id = self.requests.search.advance();
        self.topic.content_cursor = Some((self.topic.events.selected, None));
        self.topic.events.search.clear();
        self.topic.events.content = Some(ContentSearch {
            code: code.to_owned(),
            id,
            total: self.topic.events.len() as i64,
            ..ContentSearch::default()
        });
        self.status = Status::info(format!(
            "?{code}: searching {} events…",
            self.topic.events.len()
        ));
        vec![Command::Search {
            topic: self.topic.events.topic.clone(),
            generation: self.generation,
            id,
            code: code.to_owned(),
            window: self.topic.events.window,
        }]
    }

    /// Why something needs a cluster, with the file shown instead.
    fn offline_reason(&self, what: &str) -> String {
        format!(
            "offline (--file {}): {what} (a dump holds events only)",
            self.offline.as_deref().unwrap_or_default()
        )
    }
}

#[cfg(test)]
mod tests;
