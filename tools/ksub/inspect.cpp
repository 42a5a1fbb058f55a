// ksub --list and --offsets: topic debugging without consuming.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "inspect.hpp"
#include "kafka_consumer.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/json.hpp"
#include "pipekit/ndjson.hpp"

namespace pipekit::ksub {
namespace {

std::string id_list(const int32_t* ids, int n, bool json) {
  std::string out;
  for (int i = 0; i < n; ++i) out += fmt::format("{}{}", i ? "," : "", ids[i]);
  return json ? "[" + out + "]" : out;
}

std::string err_json(rd_kafka_resp_err_t err) {
  return err ? json::quote(rd_kafka_err2name(err)) : "null";
}

}  // namespace

int list(const Settings& o, const kafka::Properties& props) {
  auto rk = make_consumer(props);
  Metadata md(fetch_metadata(rk.get(), o.topics, request_timeout_ms(props)));
  auto wanted = [&](const char* name) {
    if (o.topics.empty()) return true;
    for (const auto& t : o.topics) if (t == name) return true;
    return false;
  };
  std::string out;
  if (o.json) {
    out += fmt::format("{{\"originating_broker\":{{\"id\":{},\"name\":{}}},\"brokers\":[",
                       md->orig_broker_id, json::quote(md->orig_broker_name ? md->orig_broker_name : ""));
    for (int i = 0; i < md->broker_cnt; ++i) {
      const auto& b = md->brokers[i];
      out += fmt::format("{}{{\"id\":{},\"host\":{},\"port\":{}}}", i ? "," : "", b.id, json::quote(b.host), b.port);
    }
    out += "],\"topics\":[";
    bool first = true;
    for (int i = 0; i < md->topic_cnt; ++i) {
      const auto& t = md->topics[i];
      if (!wanted(t.topic)) continue;
      out += fmt::format("{}{{\"topic\":{},\"error\":{},\"partitions\":[", first ? "" : ",",
                         json::quote(t.topic), err_json(t.err));
      first = false;
      for (int j = 0; j < t.partition_cnt; ++j) {
        const auto& p = t.partitions[j];
        out += fmt::format("{}{{\"partition\":{},\"leader\":{},\"replicas\":{},\"isrs\":{},\"error\":{}}}",
                           j ? "," : "", p.id, p.leader, id_list(p.replicas, p.replica_cnt, true),
                           id_list(p.isrs, p.isr_cnt, true), err_json(p.err));
      }
      out += "]}";
    }
    out += "]}\n";
  } else {
    out += fmt::format("Metadata from broker {} ({}):\n", md->orig_broker_id,
                       md->orig_broker_name ? md->orig_broker_name : "");
    out += fmt::format(" {} brokers:\n", md->broker_cnt);
    for (int i = 0; i < md->broker_cnt; ++i)
      out += fmt::format("  broker {} at {}:{}\n", md->brokers[i].id, md->brokers[i].host, md->brokers[i].port);
    int shown = 0;
    for (int i = 0; i < md->topic_cnt; ++i) shown += wanted(md->topics[i].topic);
    out += fmt::format(" {} topics:\n", shown);
    for (int i = 0; i < md->topic_cnt; ++i) {
      const auto& t = md->topics[i];
      if (!wanted(t.topic)) continue;
      out += fmt::format("  topic \"{}\" with {} partitions:{}\n", t.topic, t.partition_cnt,
                         t.err ? fmt::format(" error: {}", rd_kafka_err2str(t.err)) : "");
      for (int j = 0; j < t.partition_cnt; ++j) {
        const auto& p = t.partitions[j];
        out += fmt::format("    partition {}, leader {}, replicas: {}, isrs: {}{}\n", p.id, p.leader,
                           id_list(p.replicas, p.replica_cnt, false), id_list(p.isrs, p.isr_cnt, false),
                           p.err ? fmt::format(", error: {}", rd_kafka_err2str(p.err)) : "");
      }
    }
  }
  OutputWriter w(STDOUT_FILENO);
  w.write(out);
  w.flush();
  return 0;
}

int offsets(const Settings& o, const kafka::Properties& props) {
  auto rk = make_consumer(props);
  const int timeout = request_timeout_ms(props);
  Metadata md(fetch_metadata(rk.get(), o.topics, timeout));

  struct Row {
    std::string topic;
    int32_t partition;
    int64_t low = -1, high = -1, committed = -1;
  };
  std::vector<Row> rows;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    bool asked = o.topics.empty() ? std::string_view(t.topic).substr(0, 2) != "__" : false;
    for (const auto& name : o.topics) asked |= name == t.topic;
    if (!asked) continue;
    if (t.err) throw UsageError(fmt::format("topic {}: {}", t.topic, rd_kafka_err2str(t.err)));
    for (int j = 0; j < t.partition_cnt; ++j) rows.push_back({t.topic, t.partitions[j].id});
  }
  for (const auto& name : o.topics) {
    bool found = false;
    for (const auto& r : rows) found |= r.topic == name;
    if (!found) throw UsageError("topic " + name + " not found");
  }
  for (auto& r : rows) {
    auto err = rd_kafka_query_watermark_offsets(rk.get(), r.topic.c_str(), r.partition, &r.low, &r.high, timeout);
    if (err)
      throw ServiceError(fmt::format("cannot read offsets of {} [{}]: {}", r.topic, r.partition, rd_kafka_err2str(err)));
  }
  if (!o.group.empty() && !rows.empty()) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(rows.size()));
    for (const auto& r : rows) rd_kafka_topic_partition_list_add(list, r.topic.c_str(), r.partition);
    auto err = rd_kafka_committed(rk.get(), list, timeout);
    if (err) {
      rd_kafka_topic_partition_list_destroy(list);
      throw ServiceError(fmt::format("cannot read the committed offsets of group {}: {}", o.group, rd_kafka_err2str(err)));
    }
    for (size_t i = 0; i < rows.size(); ++i) rows[i].committed = list->elems[i].offset;
    rd_kafka_topic_partition_list_destroy(list);
  }

  const bool group = !o.group.empty();
  // Lag: what the group has still to read; with no committed offset, all of it.
  auto lag = [](const Row& r) { return r.high - (r.committed >= 0 ? r.committed : r.low); };
  std::string out;
  if (!o.json) {
    out += group ? fmt::format("{:<24} {:>9} {:>12} {:>12} {:>12} {:>10}\n", "TOPIC", "PARTITION", "LOW", "HIGH",
                               "COMMITTED", "LAG")
                 : fmt::format("{:<24} {:>9} {:>12} {:>12} {:>10}\n", "TOPIC", "PARTITION", "LOW", "HIGH", "MESSAGES");
  }
  for (const auto& r : rows) {
    if (o.json) {
      out += fmt::format("{{\"topic\":{},\"partition\":{},\"low\":{},\"high\":{}", json::quote(r.topic), r.partition,
                         r.low, r.high);
      if (group)
        out += fmt::format(",\"group\":{},\"committed\":{},\"lag\":{}", json::quote(o.group),
                           r.committed >= 0 ? std::to_string(r.committed) : "null", lag(r));
      out += "}\n";
    } else if (group) {
      out += fmt::format("{:<24} {:>9} {:>12} {:>12} {:>12} {:>10}\n", r.topic, r.partition, r.low, r.high,
                         r.committed >= 0 ? std::to_string(r.committed) : "-", lag(r));
    } else {
      out += fmt::format("{:<24} {:>9} {:>12} {:>12} {:>10}\n", r.topic, r.partition, r.low, r.high, r.high - r.low);
    }
  }
  OutputWriter w(STDOUT_FILENO);
  w.write(out);
  w.flush();
  return 0;
}

}  // namespace pipekit::ksub
