//! Marks: remembered events ("this is where it went wrong"), kept per cluster.

use serde::{Deserialize, Serialize};

use super::Coord;

/// One remembered event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub aggregate: String,
    #[serde(rename = "type", default)]
    pub event_type: String,
    /// The id of the topic it was made on, where the cluster had given it: a topic
    /// deleted and made again under its name has another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_id: Option<String>,
}

impl Mark {
    /// The mark of an indexed event of `topic`.
    pub fn at(topic: &str, e: &super::index::Indexed<'_>) -> Mark {
        Mark {
            topic: topic.to_owned(),
            partition: e.coord().partition,
            offset: e.coord().offset,
            timestamp: e.timestamp(),
            aggregate: e.aggregate().to_owned(),
            event_type: e.event_type().to_owned(),
            topic_id: None,
        }
    }

    /// Whether its topic was deleted and made again since: its id is not the one the
    /// mark was made on (unknown ids tell nothing).
    pub fn made_again(&self, topic_id: Option<&str>) -> bool {
        match (&self.topic_id, topic_id) {
            (Some(made_on), Some(now)) => !super::topic::same_topic_id(made_on, now),
            _ => false,
        }
    }

    pub fn coord(&self) -> Coord {
        Coord {
            partition: self.partition,
            offset: self.offset,
        }
    }
}

/// Marks a list with `mark` toggled: added at the end, or removed when it is there.
/// Says whether it was added.
pub fn toggle(marks: &mut Vec<Mark>, mark: Mark) -> bool {
    // A mark made on a topic since made again under its name marks another record.
    let same = |m: &Mark| {
        m.topic == mark.topic
            && m.coord() == mark.coord()
            && !m.made_again(mark.topic_id.as_deref())
    };
    match marks.iter().position(same) {
        Some(i) => {
            marks.remove(i);
            false
        }
        None => {
            marks.push(mark);
            true
        }
    }
}

/// The file name of a cluster's marks: its bootstrap servers, made safe for a path.
pub fn file_name(brokers: &str) -> String {
    let mut servers: Vec<&str> = brokers
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    servers.sort();
    let safe: String = servers
        .join("_")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.json")
}

/// Reads a marks file's text; a file that does not parse gives no marks and the reason.
pub fn parse(text: &str) -> Result<Vec<Mark>, String> {
    serde_json::from_str(text)
        .map_err(|e| format!("the marks file does not parse ({e}); it is left as it is"))
}

/// The text of a marks file.
pub fn to_text(marks: &[Mark]) -> String {
    serde_json::to_string_pretty(marks).expect("marks serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(offset: i64) -> Mark {
        Mark {
            topic: "orders".into(),
            partition: 1,
            offset,
            timestamp: Some(5),
            aggregate: "order-1".into(),
            event_type: "OrderPaid".into(),
            topic_id: None,
        }
    }

    #[test]
    fn marks_toggle_and_round_trip_through_their_file() {
        let mut marks = vec![];
        assert!(toggle(&mut marks, mark(3)));
        assert!(toggle(&mut marks, mark(4)));
        assert!(!toggle(&mut marks, mark(3)));
        assert_eq!(marks, [mark(4)]);
        assert_eq!(parse(&to_text(&marks)), Ok(marks));
        assert!(parse("{").unwrap_err().contains("does not parse"));
    }

    #[test]
    fn a_mark_knows_its_topic_by_id_and_older_files_without_one_still_read() {
        let old = r#"[{"topic":"orders","partition":1,"offset":3,"timestamp":5,
            "aggregate":"order-1","type":"OrderPaid"}]"#;
        let marks = parse(old).unwrap();
        assert_eq!(marks, [mark(3)]);
        assert!(!marks[0].made_again(Some("AAAAAAAAAAAAAAAAAAAAAA")));
        assert!(!to_text(&marks).contains("topic_id"));
        let made_on = Mark {
            topic_id: Some("3q2-796tvu_erb7v3q2-7w".into()),
            ..mark(3)
        };
        assert_eq!(
            parse(&to_text(std::slice::from_ref(&made_on))),
            Ok(vec![made_on.clone()])
        );
        assert!(!made_on.made_again(None));
        assert!(!made_on.made_again(Some("3q2+796tvu/erb7v3q2+7w")));
        assert!(made_on.made_again(Some("AAAAAAAAAAAAAAAAAAAAAA")));
    }

    #[test]
    fn one_file_per_cluster_whatever_the_order_of_its_servers() {
        assert_eq!(file_name("b:9092, a:9092"), file_name("a:9092,b:9092"));
        assert_eq!(file_name("127.0.0.1:9092"), "127.0.0.1_9092.json");
        assert!(!file_name("../../etc/passwd").contains('/'));
    }
}
