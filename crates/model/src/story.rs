//! Stories: one business id across several topics (`[[stories]]`), merged into one
//! timeline in time order, each topic folded by its own reducers.

/// One topic of a story: its events for the id (in fold order) and their fold.
pub struct Strand {
    pub topic: String,
    pub events: Vec<super::Event>,
    pub projection: super::projection::Projection,
}

impl Strand {
    pub fn new(
        topic: String,
        events: Vec<super::Event>,
        fold: std::rc::Rc<dyn super::reducer::Fold>,
    ) -> Strand {
        Strand {
            projection: super::projection::Projection::new(fold, &events),
            topic,
            events,
        }
    }
}

/// The order of a story's timeline: a merge of the topics' streams by timestamp that
/// keeps each stream's own order (its fold order). At each step the stream whose next
/// event is earliest goes first; ties go to the stream listed first; an event without a
/// timestamp goes as soon as it is at its stream's head. Returns (stream, index) pairs.
pub fn merge_order(streams: &[Vec<Option<i64>>]) -> Vec<(usize, usize)> {
    let total = streams.iter().map(Vec::len).sum();
    let mut heads = vec![0usize; streams.len()];
    let mut order = Vec::with_capacity(total);
    while order.len() < total {
        let next = streams
            .iter()
            .enumerate()
            .filter(|(s, times)| heads[*s] < times.len())
            .min_by_key(|(s, times)| (times[heads[*s]].unwrap_or(i64::MIN), *s))
            .map(|(s, _)| s)
            .expect("events are left");
        order.push((next, heads[next]));
        heads[next] += 1;
    }
    order
}

/// A topic's events for one id in the order a story folds them: each partition's in
/// offset order, partitions merged by time (an id that is not the record key spreads
/// over partitions, and partition-then-offset order would put a later event first).
pub fn fold_order(events: Vec<super::Event>) -> Vec<super::Event> {
    let mut partitions: Vec<Vec<super::Event>> = Vec::new();
    let mut sorted = events;
    sorted.sort_by_key(|e| (e.partition, e.offset));
    for e in sorted {
        match partitions.last_mut() {
            Some(p) if p[0].partition == e.partition => p.push(e),
            _ => partitions.push(vec![e]),
        }
    }
    let times: Vec<Vec<Option<i64>>> = partitions
        .iter()
        .map(|p| p.iter().map(|e| e.timestamp).collect())
        .collect();
    let order = merge_order(&times);
    let mut slots: Vec<Vec<Option<super::Event>>> = partitions
        .into_iter()
        .map(|p| p.into_iter().map(Some).collect())
        .collect();
    order
        .into_iter()
        .filter_map(|(p, i)| slots[p][i].take())
        .collect()
}

/// For each step of the timeline, each stream's position: the index of its last event at
/// or before the step (`None` before its first).
pub fn positions(order: &[(usize, usize)], streams: usize) -> Vec<Vec<Option<usize>>> {
    let mut at = vec![None; streams];
    order
        .iter()
        .map(|&(s, i)| {
            at[s] = Some(i);
            at.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_by_time_and_keeps_each_streams_order() {
        let orders = vec![Some(10), Some(30), Some(50)];
        let payments = vec![Some(20), Some(30), Some(40)];
        let order = merge_order(&[orders, payments]);
        assert_eq!(
            order,
            vec![(0, 0), (1, 0), (0, 1), (1, 1), (1, 2), (0, 2)],
            "a tie goes to the stream listed first"
        );
        // A stream out of time order keeps its order (its fold order).
        let skewed = vec![Some(50), Some(10)];
        let other = vec![Some(20)];
        assert_eq!(merge_order(&[skewed, other]), vec![(1, 0), (0, 0), (0, 1)]);
        // No timestamp: as soon as it is at the head.
        assert_eq!(
            merge_order(&[vec![Some(5), None], vec![Some(1)]]),
            vec![(1, 0), (0, 0), (0, 1)]
        );
        assert!(merge_order(&[vec![], vec![]]).is_empty());
    }

    #[test]
    fn a_topics_events_fold_in_offset_order_per_partition_merged_by_time() {
        let event = |partition: i32, offset: i64, t: i64| {
            let raw = crate::event::RawRecord {
                topic: "t",
                partition,
                offset,
                timestamp: Some(t),
                ..Default::default()
            };
            crate::Event::decode(&raw, &Default::default())
        };
        let events = vec![
            event(1, 0, 60),
            event(2, 0, 20),
            event(2, 1, 50),
            event(2, 2, 10),
        ];
        let got: Vec<(i32, i64)> = fold_order(events)
            .iter()
            .map(|e| (e.partition, e.offset))
            .collect();
        // Partition 2's offsets stay in order though its clock went back.
        assert_eq!(got, vec![(2, 0), (2, 1), (2, 2), (1, 0)]);
    }

    #[test]
    fn positions_say_each_streams_last_event_so_far() {
        let order = vec![(0, 0), (1, 0), (0, 1)];
        assert_eq!(
            positions(&order, 2),
            vec![
                vec![Some(0), None],
                vec![Some(0), Some(0)],
                vec![Some(1), Some(0)]
            ]
        );
    }
}
