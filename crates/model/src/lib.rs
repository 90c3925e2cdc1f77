//! The pure model: decoding, positions, selections and event streams. No I/O here.

pub mod cache;
pub mod compensate;
pub mod diff;
pub mod drift;
pub mod dump;
pub mod event;
pub mod extract;
pub mod group;
pub mod index;
pub mod lab;
pub mod mark;
pub mod outcome;
pub mod partitioner;
pub mod plan;
pub mod position;
pub mod projection;
pub mod reducer;
pub mod reuse;
pub mod schema;
pub mod search;
pub mod secrets;
pub mod select;
pub mod snapshot;
pub mod story;
pub mod stream;
pub mod topic;

pub use event::{Coord, Event, Payload};
pub use extract::{Extractor, TopicRules};
pub use position::Position;
pub use select::Selection;
pub use topic::{PartitionInfo, TopicInfo};
