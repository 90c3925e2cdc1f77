#!/usr/bin/env python3
"""Makes tests/fixtures/schemas/fixtures.json: payloads in Confluent's wire format made
by Confluent's own Python serializers (confluent-kafka 2.x with fastavro and protobuf),
the schemas as the registry holds them (in registration order, with the ids they got),
and the JSON each payload must decode to under SPEC.md's mapping. rewind's tests
register the same schemas in a fresh registry, produce these bytes and compare, so the
wire format is checked against the reference encoders, not against rewind's own.

Needs rivven-schema on PATH (or $RIVVEN_SCHEMA) and, in a virtualenv:
  pip install 'confluent-kafka[avro,json,protobuf,schemaregistry]==2.*' fastavro \
      protobuf grpcio-tools jsonschema
Then: python scripts/make-schema-fixtures.py   (CI does not run this; its output is committed)

rivven-schema refuses the base64 descriptor the Python ProtobufSerializer registers, so
the .proto text is registered over REST and the frame is built with confluent-kafka's
own framing code (SchemaId.id_to_bytes with _create_index_array), followed by the
message's SerializeToString().
"""

import base64
import datetime
import decimal
import importlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.schema_registry.common.protobuf import _create_index_array
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "schemas")


def b64(b):
    return base64.b64encode(b).decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(url, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/vnd.schemaregistry.v1+json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def main():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [os.environ.get("RIVVEN_SCHEMA", "rivven-schema"), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--log-level", "warn"])
    try:
        for _ in range(100):
            try:
                http(f"{url}/subjects")
                break
            except Exception:
                time.sleep(0.1)
        make(url)
    finally:
        server.terminate()


def make(url):
    sr = SchemaRegistryClient({"url": url})
    records = []

    # 1. Avro values (auto-registered by the serializer as payments-value).
    with open(os.path.join(HERE, "payment.avsc")) as f:
        payment_schema = f.read()
    avro_value = AvroSerializer(sr, payment_schema, conf={"auto.register.schemas": True})
    # 2. Avro keys: the string schema, as payments-key.
    avro_key = AvroSerializer(sr, '"string"', conf={"auto.register.schemas": True})
    at = datetime.datetime(2026, 11, 28, 10, 0, 0, 123000, tzinfo=datetime.timezone.utc)
    at_ms = 1795860000123
    assert int(at.timestamp() * 1000) == at_ms
    day = datetime.date(2026, 11, 28)
    day_n = (day - datetime.date(1970, 1, 1)).days
    payments = [
        ("order-7", {"paymentId": "pay-1", "orderId": "order-7", "type": "PaymentAuthorized",
                     "amount": decimal.Decimal("1234.50"), "ledgerSeq": 9007199254740993,
                     "method": None, "tags": {"channel": "web"}, "items": [{"sku": "A-1", "qty": 2}],
                     "fingerprint": b"\x00\x01\xfe\xff", "raw": b"", "at": at, "day": day},
         {"paymentId": "pay-1", "orderId": "order-7", "type": "PaymentAuthorized",
          "amount": "1234.50", "ledgerSeq": 9007199254740993, "method": None,
          "tags": {"channel": "web"}, "items": [{"sku": "A-1", "qty": 2}],
          "fingerprint": b64(b"\x00\x01\xfe\xff"), "raw": "", "at": at_ms, "day": day_n}),
        ("order-7", {"paymentId": "pay-1", "orderId": "order-7", "type": "PaymentCaptured",
                     "amount": decimal.Decimal("-0.05"), "ledgerSeq": -9007199254740993,
                     "method": "paypal", "tags": {}, "items": [],
                     "fingerprint": b"abcd", "raw": b"\x80\x00", "at": at, "day": day},
         {"paymentId": "pay-1", "orderId": "order-7", "type": "PaymentCaptured",
          "amount": "-0.05", "ledgerSeq": -9007199254740993, "method": "paypal", "tags": {},
          "items": [], "fingerprint": b64(b"abcd"), "raw": b64(b"\x80\x00"), "at": at_ms, "day": day_n}),
        ("order-8", {"paymentId": "pay-2", "orderId": "order-8", "type": "PaymentRefunded",
                     "amount": decimal.Decimal("99999999.99"), "ledgerSeq": 9223372036854775807,
                     "method": ("shop.Card", {"brand": "visa", "last4": "4242"}),
                     "tags": {"a": "1", "b": "2"}, "items": [{"sku": "B-2", "qty": 1}, {"sku": "C-3", "qty": 3}],
                     "fingerprint": b"\xff\xff\xff\xff", "raw": b"\x01", "at": at, "day": day},
         {"paymentId": "pay-2", "orderId": "order-8", "type": "PaymentRefunded",
          "amount": "99999999.99", "ledgerSeq": 9223372036854775807,
          "method": {"brand": "visa", "last4": "4242"}, "tags": {"a": "1", "b": "2"},
          "items": [{"sku": "B-2", "qty": 1}, {"sku": "C-3", "qty": 3}],
          "fingerprint": b64(b"\xff\xff\xff\xff"), "raw": b64(b"\x01"), "at": at_ms, "day": day_n}),
    ]
    for key, value, expected in payments:
        records.append({
            "topic": "payments",
            "key_b64": b64(avro_key(key, SerializationContext("payments", MessageField.KEY))),
            "value_b64": b64(avro_value(value, SerializationContext("payments", MessageField.VALUE))),
            "expected_key": key,
            "expected": expected,
        })

    # 3. Protobuf: the .proto text over REST, frames with confluent-kafka's own code.
    with open(os.path.join(HERE, "shipment.proto")) as f:
        proto_text = f.read()
    proto_id = http(f"{url}/subjects/shipments-value/versions",
                    {"schema": proto_text, "schemaType": "PROTOBUF"})["id"]
    with tempfile.TemporaryDirectory() as out:
        import grpc_tools
        from grpc_tools import protoc
        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        assert protoc.main(["protoc", f"-I{HERE}", f"-I{well_known}", f"--python_out={out}",
                            os.path.join(HERE, "shipment.proto")]) == 0
        sys.path.insert(0, out)
        pb = importlib.import_module("shipment_pb2")

    def proto_frame(message):
        indexes = _create_index_array(message.DESCRIPTOR)
        return SchemaId("PROTOBUF", proto_id, None, indexes).id_to_bytes() + message.SerializeToString(), indexes

    created = pb.ShipmentEvent(shipment_id="s-1", order_id="order-7", kind=pb.ShipmentEvent.SHIPMENT_CREATED,
                               tracking_seq=4611686018427387907, route_hash=18446744073709551615,
                               parcels=[pb.ShipmentEvent.Parcel(barcode="P1", grams=1200)],
                               labels={"carrier": "dhl"}, signature=b"\x00\xff", insured=True)
    created.at.FromMilliseconds(at_ms)
    dispatched = pb.ShipmentEvent(shipment_id="s-1", order_id="order-7", kind=pb.ShipmentEvent.SHIPMENT_DISPATCHED)
    parcel = pb.ShipmentEvent.Parcel(barcode="P2", grams=0)
    protos = [
        (created, {"shipment_id": "s-1", "order_id": "order-7", "kind": "SHIPMENT_CREATED",
                   "tracking_seq": 4611686018427387907, "parcels": [{"barcode": "P1", "grams": 1200}],
                   "labels": {"carrier": "dhl"}, "at": "2026-11-28T10:00:00.123Z", "signature": b64(b"\x00\xff"),
                   "route_hash": 18446744073709551615, "insured": True}),
        # Every scalar, repeated and map field at its default is shown all the same; an
        # unset message field (`at`) is not, as in protobuf's own JSON printers.
        (dispatched, {"shipment_id": "s-1", "order_id": "order-7", "kind": "SHIPMENT_DISPATCHED",
                      "tracking_seq": 0, "parcels": [], "labels": {}, "signature": "",
                      "route_hash": 0, "insured": False}),
        (parcel, {"barcode": "P2", "grams": 0}),
    ]
    for message, expected in protos:
        frame, indexes = proto_frame(message)
        records.append({"topic": "shipments", "key": "s-1", "value_b64": b64(frame),
                        "message_indexes": indexes, "expected": expected})

    # 4. JSON Schema (auto-registered as refunds-value).
    with open(os.path.join(HERE, "refund.schema.json")) as f:
        refund_schema = f.read()
    json_ser = JSONSerializer(refund_schema, sr, conf={"auto.register.schemas": True})
    refund = {"refundId": "r-1", "orderId": "order-8", "type": "RefundIssued", "cents": 9007199254740993}
    records.append({"topic": "refunds", "key": "order-8",
                    "value_b64": b64(json_ser(refund, SerializationContext("refunds", MessageField.VALUE))),
                    "expected": refund})

    # The schemas as the registry holds them, by id.
    registry = []
    for subject in ["payments-value", "payments-key", "shipments-value", "refunds-value"]:
        latest = http(f"{url}/subjects/{subject}/versions/latest")
        registry.append({"subject": subject, "id": latest["id"], "version": latest["version"],
                         "schemaType": latest.get("schemaType", "AVRO"), "schema": latest["schema"]})
    registry.sort(key=lambda r: r["id"])
    with open(os.path.join(HERE, "fixtures.json"), "w") as f:
        json.dump({"made_by": "scripts/make-schema-fixtures.py with confluent-kafka "
                   + __import__("confluent_kafka").version()[0],
                   "registry": registry, "records": records}, f, indent=1)
        f.write("\n")
    print(f"wrote {len(records)} records and {len(registry)} schemas to {HERE}/fixtures.json")


if __name__ == "__main__":
    main()
