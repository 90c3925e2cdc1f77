//! The demo's order-fulfilment domain, generated deterministically from a seed and
//! `assets/demo/catalog.json`: orders, payments, shipments and order snapshots over
//! five days, with planted problems worth finding.

use serde::Deserialize;
use serde_json::{json, Value};

const CATALOG: &str = include_str!("../../assets/demo/catalog.json");
const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;
const DAY: i64 = 24 * HOUR;

/// How many orders the demo has.
pub const ORDERS: usize = 500;
/// Every this many events of an order, a snapshot is stored.
pub const SNAPSHOT_EVERY: usize = 5;

/// One record to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRecord {
    pub topic: &'static str,
    pub key: String,
    /// `None` is a tombstone.
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(&'static str, String)>,
    pub timestamp: i64,
}

/// Where the planted problems are, so tests and the README can point at them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Planted {
    /// The order whose `OrderPaid` was sent twice with one event id.
    pub duplicate: String,
    /// The order whose `OrderShipped` was reversed by `OrderShipmentReversed`.
    pub reversed: String,
    /// The orders created with schema version 2.
    pub newer_version: Vec<String>,
    /// The order with a truncated JSON payload.
    pub malformed: String,
    /// The order whose snapshot disagrees with replay.
    pub bad_snapshot: String,
}

/// The generated domain.
#[derive(Debug, Clone)]
pub struct Domain {
    /// In timestamp order.
    pub records: Vec<SeedRecord>,
    pub planted: Planted,
}

#[derive(Deserialize)]
struct Catalog {
    products: Vec<Product>,
    cities: Vec<(String, String)>,
    streets: Vec<String>,
    warehouses: Vec<String>,
    carriers: Vec<String>,
    cancel_reasons: Vec<String>,
    payment_methods: Vec<String>,
    tiers: Vec<String>,
}

#[derive(Deserialize)]
struct Product {
    sku: String,
    name: String,
    price: f64,
}

/// A small deterministic generator (xorshift64*): the demo is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn between(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as u64) as i64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        )
    }
}

fn money(x: f64) -> Value {
    json!((x * 100.0).round() / 100.0)
}

/// Builds the events of one order and everything around it.
struct Builder<'a> {
    rng: Rng,
    catalog: &'a Catalog,
    records: Vec<SeedRecord>,
    end: i64,
}

/// One order's events, with the state the demo's reducers fold them into (for snapshots).
struct OrderLog {
    id: String,
    events: Vec<(i64, Value, Vec<u8>)>,
    state: Value,
}

impl OrderLog {
    /// Appends an event and applies the demo reducer's effect to the mirrored state.
    fn push(&mut self, ts: i64, event: Value, apply: impl FnOnce(&mut Value, &Value)) {
        apply(&mut self.state, &event);
        let bytes = serde_json::to_vec(&event).expect("json");
        self.events.push((ts, self.state.clone(), bytes));
    }
}

impl Builder<'_> {
    fn event(&mut self, kind: &str, id_field: (&str, &str), version: u32, data: Value) -> Value {
        let mut event = json!({
            "eventId": self.rng.uuid(),
            "type": kind,
            "schemaVersion": version,
        });
        event[id_field.0] = json!(id_field.1);
        event["data"] = data;
        event
    }

    fn emit(
        &mut self,
        topic: &'static str,
        key: &str,
        ts: i64,
        value: Option<Vec<u8>>,
        source: &str,
    ) {
        let trace = format!(
            "00-{:016x}{:016x}-{:016x}-01",
            self.rng.next(),
            self.rng.next(),
            self.rng.next()
        );
        self.records.push(SeedRecord {
            topic,
            key: key.to_owned(),
            value,
            headers: vec![
                ("content-type", "application/json".into()),
                ("source", source.into()),
                ("traceparent", trace),
            ],
            timestamp: ts,
        });
    }

    fn address(&mut self) -> Value {
        let (city, country) = self.rng.pick(&self.catalog.cities).clone();
        let street = self.rng.pick(&self.catalog.streets).clone();
        json!({"street": format!("{street} {}", self.rng.between(1, 140)), "city": city, "country": country})
    }

    fn item(&mut self) -> Value {
        let p = self.rng.pick(&self.catalog.products);
        let (sku, name, price) = (p.sku.clone(), p.name.clone(), p.price);
        json!({"sku": sku, "name": name, "qty": self.rng.between(1, 4), "price": money(price)})
    }

    fn order(&mut self, n: usize, planted: &mut Planted) {
        let id = format!("order-{}", 1000 + n);
        let customer = format!("cust-{}", 100 + self.rng.below(180));
        let mut t = self.rng.between(self.end - 5 * DAY, self.end - 8 * HOUR);
        let mut log = OrderLog {
            id: id.clone(),
            events: vec![],
            state: Value::Null,
        };
        let items: Vec<Value> = (0..self.rng.between(1, 4)).map(|_| self.item()).collect();
        let total = |items: &[Value]| {
            money(
                items
                    .iter()
                    .map(|i| i["qty"].as_f64().unwrap() * i["price"].as_f64().unwrap())
                    .sum(),
            )
        };
        let v2 = n % 97 == 13;
        let mut data = json!({
            "items": items, "total": total(&items), "currency": "EUR", "shippingAddress": self.address(),
        });
        if v2 {
            planted.newer_version.push(id.clone());
            data["customer"] = json!({"id": customer, "tier": self.rng.pick(&self.catalog.tiers)});
        } else {
            data["customerId"] = json!(customer);
        }
        let created = self.event(
            "OrderCreated",
            ("orderId", &id),
            if v2 { 2 } else { 1 },
            data,
        );
        log.push(t, created, |s, e| {
            let d = &e["data"];
            *s = json!({
                "orderId": e["orderId"], "status": "created",
                "customerId": d.get("customerId").unwrap_or(&d["customer"]["id"]),
                "items": d["items"], "total": d["total"], "currency": d["currency"],
                "shippingAddress": d["shippingAddress"],
            });
        });
        if self.rng.chance(30) {
            t += self.rng.between(MINUTE, 20 * MINUTE);
            let item = self.item();
            let mut all = log.state["items"].as_array().cloned().unwrap_or_default();
            all.push(item.clone());
            let e = self.event(
                "OrderItemAdded",
                ("orderId", &id),
                1,
                json!({"item": item, "total": total(&all)}),
            );
            log.push(t, e, |s, e| {
                s["items"]
                    .as_array_mut()
                    .unwrap()
                    .push(e["data"]["item"].clone());
                s["total"] = e["data"]["total"].clone();
            });
        }
        // Payment: authorised, then captured or failed.
        let pay = format!("pay-{}", 5000 + n);
        let amount = log.state["total"].clone();
        t += self.rng.between(MINUTE, 10 * MINUTE);
        let method = self.rng.pick(&self.catalog.payment_methods).clone();
        let mut auth = self.event(
            "PaymentAuthorized",
            ("paymentId", &pay),
            1,
            json!({"amount": amount, "method": method}),
        );
        auth["orderId"] = json!(id);
        self.emit(
            "payments",
            &pay,
            t,
            Some(serde_json::to_vec(&auth).unwrap()),
            "payment-service",
        );
        t += self.rng.between(20_000, 3 * MINUTE);
        if self.rng.chance(4) {
            let mut failed = self.event(
                "PaymentFailed",
                ("paymentId", &pay),
                1,
                json!({"reason": "card declined"}),
            );
            failed["orderId"] = json!(id);
            self.emit(
                "payments",
                &pay,
                t,
                Some(serde_json::to_vec(&failed).unwrap()),
                "payment-service",
            );
            t += self.rng.between(MINUTE, 5 * MINUTE);
            let e = self.event(
                "OrderCancelled",
                ("orderId", &id),
                1,
                json!({"reason": "payment failed"}),
            );
            log.push(t, e, cancel);
            return self.finish(log, planted);
        }
        let mut captured = self.event(
            "PaymentCaptured",
            ("paymentId", &pay),
            1,
            json!({"amount": amount}),
        );
        captured["orderId"] = json!(id);
        self.emit(
            "payments",
            &pay,
            t,
            Some(serde_json::to_vec(&captured).unwrap()),
            "payment-service",
        );
        t += self.rng.between(5_000, 60_000);
        let paid = self.event(
            "OrderPaid",
            ("orderId", &id),
            1,
            json!({"paymentId": pay, "amount": amount}),
        );
        log.push(t, paid.clone(), |s, e| {
            s["status"] = json!("paid");
            s["paymentId"] = e["data"]["paymentId"].clone();
            s["paid"] = e["data"]["amount"].clone();
        });
        if planted.duplicate.is_empty() && n % 7 == 3 {
            // A producer retry re-sent the same event (same eventId) two minutes later.
            planted.duplicate = id.clone();
            t += 2 * MINUTE;
            let state = log.state.clone();
            log.events
                .push((t, state, serde_json::to_vec(&paid).unwrap()));
        }
        if self.rng.chance(15) {
            t += self.rng.between(10 * MINUTE, 3 * HOUR);
            let address = self.address();
            let e = self.event(
                "OrderAddressChanged",
                ("orderId", &id),
                1,
                json!({"shippingAddress": address}),
            );
            log.push(t, e, |s, e| {
                s["shippingAddress"] = e["data"]["shippingAddress"].clone()
            });
        }
        if self.rng.chance(4) {
            t += self.rng.between(10 * MINUTE, 2 * HOUR);
            let reason = self.rng.pick(&self.catalog.cancel_reasons).clone();
            let e = self.event(
                "OrderCancelled",
                ("orderId", &id),
                1,
                json!({"reason": reason}),
            );
            log.push(t, e, cancel);
            let mut refund = self.event(
                "PaymentRefunded",
                ("paymentId", &pay),
                1,
                json!({"amount": amount}),
            );
            refund["orderId"] = json!(id);
            self.emit(
                "payments",
                &pay,
                t + 30_000,
                Some(serde_json::to_vec(&refund).unwrap()),
                "payment-service",
            );
            return self.finish(log, planted);
        }
        t += self.rng.between(2 * HOUR, 12 * HOUR);
        let warehouse = self.rng.pick(&self.catalog.warehouses).clone();
        if planted.malformed.is_empty() && n % 11 == 5 {
            // The packing service crashed mid-write: a truncated JSON payload.
            planted.malformed = id.clone();
            let e = self.event(
                "OrderPacked",
                ("orderId", &id),
                1,
                json!({"warehouse": warehouse}),
            );
            let bytes = serde_json::to_vec(&e).unwrap();
            let state = log.state.clone();
            log.events
                .push((t, state, bytes[..bytes.len() - 9].to_vec()));
        }
        let e = self.event(
            "OrderPacked",
            ("orderId", &id),
            1,
            json!({"warehouse": warehouse}),
        );
        log.push(t, e, |s, e| {
            s["status"] = json!("packed");
            s["warehouse"] = e["data"]["warehouse"].clone();
        });
        if t > self.end {
            return self.finish(log, planted);
        }
        t += self.rng.between(HOUR, 6 * HOUR);
        let reverse = planted.reversed.is_empty() && n % 13 == 8;
        for attempt in 0..if reverse { 2 } else { 1 } {
            let ship = format!("ship-{}-{}", 7000 + n, attempt + 1);
            let carrier = self.rng.pick(&self.catalog.carriers).clone();
            let tracking = format!(
                "{}{:010}",
                &carrier[..2].to_uppercase(),
                self.rng.below(10_000_000_000)
            );
            let shipped = self.event(
                "OrderShipped",
                ("orderId", &id),
                1,
                json!({"shipmentId": ship, "carrier": carrier, "trackingNumber": tracking}),
            );
            let shipped_id = shipped["eventId"].clone();
            log.push(t, shipped, |s, e| {
                s["status"] = json!("shipped");
                s["shipment"] = json!({"carrier": e["data"]["carrier"], "tracking": e["data"]["trackingNumber"]});
            });
            t = self.shipment(&ship, &id, &carrier, t, attempt == 0 && reverse);
            if attempt == 0 && reverse {
                planted.reversed = id.clone();
                let e = self.event(
                    "OrderShipmentReversed",
                    ("orderId", &id),
                    1,
                    json!({"reverses": shipped_id, "reason": "parcel lost by carrier"}),
                );
                log.push(t, e, |s, _| {
                    s["status"] = json!("packed");
                    s.as_object_mut().unwrap().remove("shipment");
                });
                t += self.rng.between(HOUR, 4 * HOUR);
            }
        }
        if t < self.end {
            let e = self.event("OrderDelivered", ("orderId", &id), 1, json!({}));
            log.push(t, e, |s, _| s["status"] = json!("delivered"));
        }
        self.finish(log, planted)
    }

    /// The shipment's own stream; returns when it was delivered (or lost).
    fn shipment(&mut self, ship: &str, order: &str, carrier: &str, mut t: i64, lost: bool) -> i64 {
        let steps: &[&str] = if lost {
            &["ShipmentCreated", "ShipmentPickedUp", "ShipmentLost"]
        } else {
            &[
                "ShipmentCreated",
                "ShipmentPickedUp",
                "ShipmentInTransit",
                "ShipmentDelivered",
            ]
        };
        for (i, step) in steps.iter().enumerate() {
            if t > self.end {
                break;
            }
            let mut e = self.event(step, ("shipmentId", ship), 1, json!({"carrier": carrier}));
            e["orderId"] = json!(order);
            self.emit(
                "shipments",
                ship,
                t,
                Some(serde_json::to_vec(&e).unwrap()),
                "shipping-service",
            );
            t += if i == 0 {
                self.rng.between(30 * MINUTE, 3 * HOUR)
            } else {
                self.rng.between(4 * HOUR, DAY)
            };
        }
        t
    }

    /// Emits the order's events and a snapshot after every `SNAPSHOT_EVERY` of them.
    fn finish(&mut self, log: OrderLog, planted: &mut Planted) {
        let events: Vec<_> = log
            .events
            .into_iter()
            .filter(|(ts, _, _)| *ts <= self.end)
            .collect();
        for (i, (ts, state, bytes)) in events.iter().enumerate() {
            self.emit("orders", &log.id, *ts, Some(bytes.clone()), "order-service");
            let version = i + 1;
            if version % SNAPSHOT_EVERY == 0 {
                let mut state = state.clone();
                if planted.bad_snapshot.is_empty()
                    && state["items"].as_array().is_some_and(|a| a.len() > 1)
                {
                    // A snapshotter bug dropped the last item but kept the total.
                    planted.bad_snapshot = log.id.clone();
                    state["items"].as_array_mut().unwrap().pop();
                }
                let snapshot = json!({"orderId": log.id, "version": version, "takenAt": ts + 1000, "state": state});
                self.emit(
                    "orders-snapshots",
                    &log.id,
                    ts + 1000,
                    Some(serde_json::to_vec(&snapshot).unwrap()),
                    "snapshotter",
                );
                self.records
                    .last_mut()
                    .unwrap()
                    .headers
                    .push(("type", "OrderSnapshot".into()));
            }
        }
    }
}

fn cancel(s: &mut Value, e: &Value) {
    s["status"] = json!("cancelled");
    s["cancelReason"] = e["data"]["reason"].clone();
}

/// Generates the demo domain ending at `end_ms` (five days of history before it).
pub fn generate(end_ms: i64) -> Domain {
    let catalog: Catalog =
        serde_json::from_str(CATALOG).expect("assets/demo/catalog.json is valid");
    let mut builder = Builder {
        rng: Rng(0x5eed_cafe_f00d_0001),
        catalog: &catalog,
        records: vec![],
        end: end_ms,
    };
    let mut planted = Planted::default();
    for n in 0..ORDERS {
        builder.order(n, &mut planted);
    }
    let mut records = builder.records;
    records.sort_by_key(|r| r.timestamp);
    Domain { records, planted }
}

/// The consumer groups the demo commits offsets for: (group, topic, fraction consumed).
pub const GROUPS: &[(&str, &str, f64)] = &[
    ("order-projector", "orders", 1.0),
    ("fulfilment", "orders", 0.9),
    ("billing", "payments", 1.0),
    ("shipping-notifier", "shipments", 0.6),
];

/// Partitions per demo topic.
pub const TOPICS: &[(&str, i32)] = &[
    ("orders", 3),
    ("payments", 3),
    ("shipments", 2),
    ("orders-snapshots", 1),
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    const END: i64 = 1_795_687_200_000;

    #[test]
    fn is_big_enough_and_spread_over_days() {
        let d = generate(END);
        assert!(d.records.len() >= 5000, "{}", d.records.len());
        let orders: HashSet<_> = d
            .records
            .iter()
            .filter(|r| r.topic == "orders")
            .map(|r| &r.key)
            .collect();
        assert!(orders.len() >= 200);
        let first = d.records.first().unwrap().timestamp;
        let last = d.records.last().unwrap().timestamp;
        assert!(last - first > 4 * DAY && last <= END);
        assert!(d
            .records
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp));
    }

    #[test]
    fn planted_problems_are_where_the_readme_says() {
        let p = generate(END).planted;
        assert_eq!(
            (
                p.duplicate.as_str(),
                p.reversed.as_str(),
                p.malformed.as_str(),
                p.bad_snapshot.as_str()
            ),
            ("order-1003", "order-1008", "order-1005", "order-1003")
        );
        assert_eq!(
            p.newer_version.first().map(String::as_str),
            Some("order-1013")
        );
    }

    #[test]
    fn is_deterministic() {
        assert_eq!(generate(END).records, generate(END).records);
    }

    #[test]
    fn plants_every_problem() {
        let d = generate(END);
        let p = &d.planted;
        for id in [&p.duplicate, &p.reversed, &p.malformed, &p.bad_snapshot] {
            assert!(!id.is_empty(), "{p:?}");
        }
        assert!(!p.newer_version.is_empty());
        let values = |id: &str| -> Vec<&[u8]> {
            d.records
                .iter()
                .filter(|r| r.topic == "orders" && r.key == id)
                .map(|r| r.value.as_deref().unwrap())
                .collect()
        };
        let mut ids = HashMap::new();
        let dups = values(&p.duplicate)
            .iter()
            .filter_map(|v| serde_json::from_slice::<Value>(v).ok())
            .filter(|v| ids.insert(v["eventId"].to_string(), ()).is_some())
            .count();
        assert_eq!(dups, 1);
        assert!(values(&p.malformed)
            .iter()
            .any(|v| serde_json::from_slice::<Value>(v).is_err()));
        let reversed = values(&p.reversed);
        assert!(reversed
            .iter()
            .any(|v| String::from_utf8_lossy(v).contains("OrderShipmentReversed")));
    }
}
