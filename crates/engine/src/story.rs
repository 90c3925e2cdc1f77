//! One business id across a story's topics.

use anyhow::{bail, Result};

use crate::config::Config;
use crate::model::story::Strand;
use crate::model::Event;
use crate::source::Source;

/// Reads each topic of the story for `id`, in the order the story folds them: only the
/// key's partition where the id is the record key (as `state` does). Per topic: its
/// events. No events anywhere is an error.
pub fn read_events(
    source: &dyn Source,
    config: &Config,
    name: &str,
    id: &str,
    progress: bool,
) -> Result<Vec<(String, Vec<Event>)>> {
    let story = config.story(name)?;
    let mut strands = Vec::new();
    for (topic, path) in &story.topics {
        let config = config.with_aggregate(topic, path);
        let events = source.aggregate(&config, topic, id, progress)?;
        strands.push((topic.clone(), crate::model::story::fold_order(events)));
    }
    if strands.iter().all(|(_, events)| events.is_empty()) {
        let topics: Vec<&str> = strands.iter().map(|(t, ..)| t.as_str()).collect();
        bail!(
            "story {name}: `{id}` has no events in {}",
            topics.join(", ")
        );
    }
    Ok(strands)
}

/// The story's topics read and folded, each by its own reducers.
pub fn read(source: &dyn Source, config: &Config, name: &str, id: &str) -> Result<Vec<Strand>> {
    read_events(source, config, name, id, true)?
        .into_iter()
        .map(|(topic, events)| {
            let fold = crate::isolation::reducers_for(config, &topic)?;
            Ok(Strand::new(topic, events, fold))
        })
        .collect()
}
