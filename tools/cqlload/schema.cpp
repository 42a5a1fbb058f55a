#include "schema.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "pipekit/cql/types.hpp"
#include "pipekit/errors.hpp"
#include "pipekit/log.hpp"

namespace pipekit::cqlload {

std::string quote_ident(const std::string& name) {
  std::string q = "\"";
  for (char c : name) {
    if (c == '"') q += '"';
    q += c;
  }
  return q + "\"";
}

PrimaryKey parse_primary_key(const std::string& spec) {
  // Tokens: identifiers (bare or "quoted"), '(', ')', ','.
  std::vector<std::string> tokens;
  for (size_t i = 0; i < spec.size();) {
    char c = spec[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')' || c == ',') {
      tokens.emplace_back(1, c);
      ++i;
    } else if (c == '"') {
      std::string id;
      ++i;
      for (; i < spec.size(); ++i) {
        if (spec[i] == '"') {
          if (i + 1 < spec.size() && spec[i + 1] == '"') {
            id += '"';
            ++i;
          } else {
            break;
          }
        } else {
          id += spec[i];
        }
      }
      if (i >= spec.size()) throw UsageError("--primary-key: unterminated quoted name");
      ++i;
      tokens.push_back("\x01" + id);
    } else {
      std::string id;
      while (i < spec.size() && !std::isspace(static_cast<unsigned char>(spec[i])) && spec[i] != '(' &&
             spec[i] != ')' && spec[i] != ',' && spec[i] != '"')
        id += spec[i++];
      tokens.push_back("\x01" + id);
    }
  }
  // Drop one pair of outer parentheses: "((a,b),c)" == "(a,b),c" ; "(a,b)"
  // alone means partition key (a, b)? No: as in CQL, PRIMARY KEY (a, b) has
  // partition key a. So outer parentheses that wrap everything are the
  // PRIMARY KEY (...) list itself.
  if (tokens.size() >= 2 && tokens.front() == "(" && tokens.back() == ")") {
    int depth = 0;
    bool wraps = true;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i] == "(") ++depth;
      if (tokens[i] == ")") --depth;
      if (depth == 0 && i + 1 < tokens.size()) wraps = false;
    }
    if (wraps) tokens = std::vector<std::string>(tokens.begin() + 1, tokens.end() - 1);
  }
  PrimaryKey pk;
  size_t i = 0;
  auto ident = [&](std::vector<std::string>& into) {
    if (i >= tokens.size() || tokens[i][0] != '\x01' || tokens[i].size() == 1)
      throw UsageError("--primary-key: expected a column name in '" + spec + "'");
    into.push_back(tokens[i++].substr(1));
  };
  if (i < tokens.size() && tokens[i] == "(") {
    ++i;
    ident(pk.partition);
    while (i < tokens.size() && tokens[i] == ",") {
      ++i;
      ident(pk.partition);
    }
    if (i >= tokens.size() || tokens[i] != ")") throw UsageError("--primary-key: missing ')' in '" + spec + "'");
    ++i;
  } else {
    ident(pk.partition);
  }
  while (i < tokens.size()) {
    if (tokens[i] != ",") throw UsageError("--primary-key: unexpected '" + tokens[i] + "' in '" + spec + "'");
    ++i;
    ident(pk.clustering);
  }
  return pk;
}

cql::Result query(cql::Session& s, const std::string& text, cql::Consistency c, const std::string& values,
                  uint16_t count) {
  auto& conn = s.any();
  auto r = conn.call([&](std::string& o, int16_t id) { cql::encode_query(o, id, text, c, values, count); },
                     s.options().request_timeout_ms);
  if (!r.transport_ok) throw ServiceError(r.transport_error);
  if (r.opcode == static_cast<uint8_t>(cql::Opcode::error)) {
    auto e = cql::decode_error(r.body);
    std::string msg = conn.name() + ": " + e.describe();
    if (e.transient()) throw ServiceError(msg);
    throw UsageError(msg);
  }
  if (r.opcode != static_cast<uint8_t>(cql::Opcode::result))
    throw ServiceError(conn.name() + ": unexpected " + cql::opcode_name(r.opcode) + " to QUERY");
  return cql::decode_result(r.body);
}

std::vector<TableColumn> table_columns(cql::Session& s, const std::string& ks, const std::string& table) {
  std::string values;
  cql::wire::bytes(values, ks);
  cql::wire::bytes(values, table);
  auto res = query(s,
                   "SELECT column_name, kind, position, type FROM system_schema.columns "
                   "WHERE keyspace_name = ? AND table_name = ?",
                   cql::Consistency::one, values, 2);
  if (res.kind != cql::ResultKind::rows) throw ServiceError("system_schema.columns: no rows result");
  const auto& cols = res.rows.meta.columns;
  auto at = [&](const std::string& name) -> int {
    for (size_t i = 0; i < cols.size(); ++i)
      if (cols[i].name == name) return static_cast<int>(i);
    throw ServiceError("system_schema.columns has no column " + name);
  };
  int iname = at("column_name"), ikind = at("kind"), ipos = at("position"), itype = at("type");
  struct Row {
    TableColumn c;
    int order;
    int position;
  };
  std::vector<Row> rows;
  for (const auto& r : res.rows.rows) {
    Row row;
    row.c.name = r[iname].value_or("");
    row.c.kind = r[ikind].value_or("regular");
    row.c.type = r[itype].value_or("");
    row.position = 0;
    if (r[ipos] && r[ipos]->size() == 4) {
      uint32_t u = 0;
      for (unsigned char ch : *r[ipos]) u = (u << 8) | ch;
      row.position = static_cast<int32_t>(u);
    }
    row.order = row.c.kind == "partition_key" ? 0 : row.c.kind == "clustering" ? 1 : 2;
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    if (a.order != b.order) return a.order < b.order;
    if (a.order < 2) return a.position < b.position;
    return a.c.name < b.c.name;
  });
  std::vector<TableColumn> out;
  for (auto& r : rows) out.push_back(std::move(r.c));
  return out;
}

namespace {
std::string cql_type_for_schema(const nlohmann::json& p) {
  if (p.is_object() && p.contains("x-cql-type") && p["x-cql-type"].is_string()) return p["x-cql-type"];
  std::string type;
  if (p.is_object() && p.contains("type")) {
    const auto& t = p["type"];
    if (t.is_string()) {
      type = t;
    } else if (t.is_array()) {
      for (const auto& x : t)
        if (x.is_string() && x != "null") {
          type = x;
          break;
        }
    }
  }
  std::string format = p.is_object() && p.contains("format") && p["format"].is_string() ? p["format"].get<std::string>() : "";
  if (type == "integer") return "bigint";
  if (type == "number") return "double";
  if (type == "boolean") return "boolean";
  if (type == "string") {
    if (format == "date-time") return "timestamp";
    if (format == "date") return "date";
    if (format == "time") return "time";
    if (format == "uuid") return "uuid";
    if (format == "ipv4" || format == "ipv6") return "inet";
    if (p.contains("contentEncoding") && p["contentEncoding"] == "base64") return "blob";
    return "text";
  }
  if (type == "array" && p.contains("items") && p["items"].is_object()) {
    std::string item = cql_type_for_schema(p["items"]);
    if (item == "text" && p["items"].value("type", "") != "string") return "text";
    bool unique = p.value("uniqueItems", false);
    return (unique ? "set<" : "list<") + item + ">";
  }
  if (type == "object" && !p.contains("properties") && p.contains("additionalProperties") &&
      p["additionalProperties"].is_object()) {
    const auto& ap = p["additionalProperties"];
    std::string v = cql_type_for_schema(ap);
    if (ap.value("type", "") != "object" && ap.value("type", "") != "array") return "map<text, " + v + ">";
  }
  return "text";  // objects, arrays of objects, anything else: stored as JSON text
}
}  // namespace

std::vector<std::pair<std::string, std::string>> columns_from_json_schema(const std::string& text) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    throw UsageError(std::string("--schema: not JSON: ") + e.what());
  }
  if (!doc.is_object() || !doc.contains("properties") || !doc["properties"].is_object())
    throw UsageError("--schema: expected a JSON Schema object with \"properties\"");
  std::vector<std::pair<std::string, std::string>> cols;
  for (auto it = doc["properties"].begin(); it != doc["properties"].end(); ++it)
    cols.emplace_back(it.key(), cql_type_for_schema(it.value()));
  if (cols.empty()) throw UsageError("--schema: no properties");
  return cols;
}

std::vector<std::pair<std::string, std::string>> columns_from_samples(const std::vector<std::string>& lines) {
  std::vector<std::pair<std::string, std::string>> cols;
  std::map<std::string, size_t> index;
  simdjson::dom::parser parser;
  for (const auto& line : lines) {
    simdjson::dom::object obj;
    if (parser.parse(line).get(obj)) continue;  // rejected later, with a reason
    for (auto field : obj) {
      std::string type;
      switch (field.value.type()) {
        case simdjson::dom::element_type::INT64:
        case simdjson::dom::element_type::UINT64: type = "bigint"; break;
        case simdjson::dom::element_type::DOUBLE: type = "double"; break;
        case simdjson::dom::element_type::BOOL: type = "boolean"; break;
        case simdjson::dom::element_type::NULL_VALUE: type = ""; break;
        default: type = "text";
      }
      std::string name(field.key);
      auto it = index.find(name);
      if (it == index.end()) {
        index[name] = cols.size();
        cols.emplace_back(name, type);
      } else {
        auto& have = cols[it->second].second;
        if (have.empty()) have = type;
        else if (have == "bigint" && type == "double") have = "double";
        else if (!type.empty() && have != type && !(have == "double" && type == "bigint")) have = "text";
      }
    }
  }
  for (auto& c : cols)
    if (c.second.empty()) c.second = "text";
  return cols;
}

std::string create_table_cql(const std::string& ks, const std::string& table,
                             const std::vector<std::pair<std::string, std::string>>& columns,
                             const PrimaryKey& pk) {
  std::set<std::string> names;
  for (const auto& c : columns) names.insert(c.first);
  for (const auto* part : {&pk.partition, &pk.clustering})
    for (const auto& k : *part)
      if (!names.count(k))
        throw UsageError("--primary-key: column '" + k + "' is not among the " +
                         std::to_string(columns.size()) + " columns found");
  std::string q = "CREATE TABLE IF NOT EXISTS " + quote_ident(ks) + "." + quote_ident(table) + " (";
  for (const auto& c : columns) q += quote_ident(c.first) + " " + c.second + ", ";
  q += "PRIMARY KEY ((";
  for (size_t i = 0; i < pk.partition.size(); ++i) q += (i ? ", " : "") + quote_ident(pk.partition[i]);
  q += ")";
  for (const auto& k : pk.clustering) q += ", " + quote_ident(k);
  q += "))";
  return q;
}

namespace {
std::string quote_literal(const std::string& v) {
  std::string q = "'";
  for (char c : v) {
    if (c == '\'') q += '\'';
    q += c;
  }
  return q + "'";
}

int parse_factor(const std::string& text, const std::string& spec) {
  if (text.empty() || text.size() > 3 || text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) < 1)
    throw UsageError("--replication: '" + spec + "': a replication factor is a number 1..999");
  return std::stoi(text);
}
}  // namespace

std::string replication_cql(const std::string& spec, const std::string& local_dc, size_t local_nodes) {
  if (!spec.empty() && spec.front() == '{') {
    if (spec.back() != '}') throw UsageError("--replication: a CQL map ends with '}': " + spec);
    return spec;
  }
  if (spec.empty()) {
    if (local_dc.empty()) throw UsageError("--replication: the cluster did not say its datacenter; give dc:N");
    size_t rf = std::clamp<size_t>(local_nodes, 1, 3);
    return "{'class': 'NetworkTopologyStrategy', " + quote_literal(local_dc) + ": " + std::to_string(rf) + "}";
  }
  auto colon = spec.find(':');
  if (spec.compare(0, colon, "simple") == 0 && colon != std::string::npos)
    return "{'class': 'SimpleStrategy', 'replication_factor': " +
           std::to_string(parse_factor(spec.substr(colon + 1), spec)) + "}";
  std::string out = "{'class': 'NetworkTopologyStrategy'";
  std::set<std::string> seen;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string::npos) end = spec.size();
    std::string item = spec.substr(start, end - start);
    auto c = item.rfind(':');
    if (c == std::string::npos || c == 0)
      throw UsageError("--replication: expected DC:N[,DC:N...], simple:N or a CQL map, got '" + spec + "'");
    std::string dc = item.substr(0, c);
    if (!seen.insert(dc).second) throw UsageError("--replication: datacenter " + dc + " given twice");
    out += ", " + quote_literal(dc) + ": " + std::to_string(parse_factor(item.substr(c + 1), spec));
    start = end + 1;
  }
  return out + "}";
}

std::pair<std::string, size_t> local_datacenter(cql::Session& s) {
  auto column = [](const cql::Rows& rows, const std::string& name) -> int {
    for (size_t k = 0; k < rows.meta.columns.size(); ++k)
      if (rows.meta.columns[k].name == name) return static_cast<int>(k);
    return -1;
  };
  std::string dc;
  auto local = query(s, "SELECT data_center FROM system.local", cql::Consistency::one);
  if (local.kind == cql::ResultKind::rows && !local.rows.rows.empty())
    if (int k = column(local.rows, "data_center"); k >= 0 && local.rows.rows[0][static_cast<size_t>(k)])
      dc = *local.rows.rows[0][static_cast<size_t>(k)];
  cql::Result peers;
  try {
    peers = query(s, "SELECT data_center FROM system.peers_v2", cql::Consistency::one);
  } catch (const UsageError&) {  // before 4.0
    peers = query(s, "SELECT data_center FROM system.peers", cql::Consistency::one);
  }
  size_t nodes = 1;
  if (peers.kind == cql::ResultKind::rows)
    if (int k = column(peers.rows, "data_center"); k >= 0)
      for (const auto& row : peers.rows.rows) nodes += row[static_cast<size_t>(k)] && *row[static_cast<size_t>(k)] == dc;
  return {dc, nodes};
}

bool wait_schema_agreement(cql::Session& s, int timeout_ms) {
  if (s.size() < 2) return true;
  int64_t deadline = cql::now_ms() + timeout_ms;
  for (;;) {
    std::set<std::string> versions;
    for (size_t i = 0; i < s.size(); ++i) {
      auto& c = s.connection(i);
      if (!c.alive()) continue;
      auto r = c.call([](std::string& o, int16_t id) {
        cql::encode_query(o, id, "SELECT schema_version FROM system.local", cql::Consistency::one);
      }, 5000);
      if (!r.transport_ok || r.opcode != static_cast<uint8_t>(cql::Opcode::result)) continue;
      auto res = cql::decode_result(r.body);
      if (res.kind != cql::ResultKind::rows || res.rows.rows.empty()) continue;
      const auto& cols = res.rows.meta.columns;
      for (size_t k = 0; k < cols.size(); ++k)
        if (cols[k].name == "schema_version" && res.rows.rows[0][k]) versions.insert(*res.rows.rows[0][k]);
    }
    if (versions.size() <= 1) return true;
    if (cql::now_ms() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

}  // namespace pipekit::cqlload
