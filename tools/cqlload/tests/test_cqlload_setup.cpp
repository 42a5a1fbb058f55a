// Set-up without a server: the target, the options' checks, the session's
// options, the INSERT's text and the partition key's bind indexes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "pipekit/errors.hpp"
#include "setup.hpp"

using namespace pipekit;
using namespace pipekit::cqlload;

TEST(CqlloadSetup, TargetFromTableAndKeyspace) {
  Options o;
  o.table = "ks.users";
  Target t = resolve_target(o);
  EXPECT_EQ(t.keyspace, "ks");
  EXPECT_EQ(t.table, "users");
  EXPECT_EQ(t.name(), "ks.users");
  o.keyspace = "other";  // --keyspace wins over the table's prefix
  EXPECT_EQ(resolve_target(o).keyspace, "other");
  EXPECT_EQ(resolve_target(o).table, "users");
  o.table = "\"a.b\"";  // a quoted name is not split
  EXPECT_EQ(resolve_target(o).table, "\"a.b\"");
  o = Options{};
  EXPECT_THROW(resolve_target(o), UsageError);
  o.table = "users";
  EXPECT_THROW(resolve_target(o), UsageError);  // no keyspace
}

TEST(CqlloadSetup, OptionChecks) {
  Options o;
  EXPECT_EQ(check_options(o), cql::Consistency::local_quorum);
  o.consistency = "one";
  EXPECT_EQ(check_options(o), cql::Consistency::one);
  auto bad = [](auto change) {
    Options x;
    change(x);
    EXPECT_THROW(check_options(x), UsageError);
  };
  bad([](Options& x) { x.consistency = "MOST"; });
  bad([](Options& x) { x.consistency = "SERIAL"; });
  bad([](Options& x) { x.concurrency = 0; });
  bad([](Options& x) { x.concurrency = 40000; });
  bad([](Options& x) { x.batch_size = 0; });
  bad([](Options& x) { x.ttl = -1; });
  bad([](Options& x) { x.routing = "random"; });
  bad([](Options& x) { x.group_by = "node"; });
  bad([](Options& x) { x.replication = "nonsense"; });
}

TEST(CqlloadSetup, SessionOptions) {
  EXPECT_EQ(split_hosts(" h1, h2:9043,,"), (std::vector<std::string>{"h1", "h2:9043"}));
  ::unsetenv("CQL_PASSWORD");
  ::setenv("CQL_HOSTS", "e1,e2", 1);
  Options o;
  o.connect_timeout_ms = 1500;
  o.request_timeout_ms = 250;
  auto so = session_options(o, cql::Consistency::local_quorum);
  EXPECT_EQ(so.hosts, (std::vector<std::string>{"e1", "e2"}));  // CQL_HOSTS without --hosts
  EXPECT_EQ(so.connect_timeout_ms, 1500);
  EXPECT_EQ(so.request_timeout_ms, 250);
  EXPECT_TRUE(so.local_dc_only);
  EXPECT_FALSE(so.tls);
  o.hosts = "f1";
  o.ca_file = "/ca.pem";  // implies TLS
  so = session_options(o, cql::Consistency::quorum);
  EXPECT_EQ(so.hosts, std::vector<std::string>{"f1"});
  EXPECT_TRUE(so.tls);
  EXPECT_FALSE(so.local_dc_only);
  ::unsetenv("CQL_HOSTS");

  Options tls;
  tls.no_verify_hostname = true;  // without TLS
  EXPECT_THROW(session_options(tls, cql::Consistency::one), UsageError);
  Options user;
  user.user = "loader";  // and no password anywhere
  EXPECT_THROW(session_options(user, cql::Consistency::one), UsageError);
  std::string pw = ::testing::TempDir() + "/cqlload-pw";
  std::ofstream(pw) << "s3cret\r\nsecond line\n";
  user.password_file = pw;
  EXPECT_EQ(session_options(user, cql::Consistency::one).password, "s3cret");
  user.password_file = "/nonexistent/pw";
  EXPECT_THROW(session_options(user, cql::Consistency::one), UsageError);
}

TEST(CqlloadSetup, InsertText) {
  Target t{"ks", "users"};
  EXPECT_EQ(insert_cql(t, {"id", "we\"ird"}, 0),
            "INSERT INTO \"ks\".\"users\" (\"id\", \"we\"\"ird\") VALUES (?, ?) USING TIMESTAMP ?");
  EXPECT_EQ(insert_cql(t, {"id"}, 60), "INSERT INTO \"ks\".\"users\" (\"id\") VALUES (?) USING TTL 60 AND TIMESTAMP ?");
}

TEST(CqlloadSetup, PartitionKeyBindsFromTheServerElseTheTable) {
  std::vector<TableColumn> columns{{"a", "regular", "text"}, {"k2", "partition_key", "int"},
                                   {"k1", "partition_key", "int"}};
  cql::Prepared p;
  p.bind.pk_indexes = {2, 1};
  EXPECT_EQ(partition_key_binds(p, columns), (std::vector<int>{2, 1}));
  p.bind.pk_indexes.clear();
  EXPECT_EQ(partition_key_binds(p, columns), (std::vector<int>{1, 2}));
}
