// The one database writer with group commit: concurrent writes from many slots are committed
// together, and one write that fails inside a group fails alone — the others' writes are kept
// and answered as committed.
#include "provisioning/record_writer.h"

#include <QSqlQuery>
#include <QTemporaryDir>
#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

using namespace keyline;

namespace {

std::unique_ptr<provisioning::RecordWriter> startWriter(const QTemporaryDir& dir) {
    db::DatabaseOptions o;
    o.name = dir.filePath(QStringLiteral("writer.db"));
    auto writer = provisioning::RecordWriter::start(o);
    REQUIRE(writer.ok());
    auto created = (*writer)->call<void>([](db::Database& db) -> Result<void> {
        KL_TRY(db.exec(QStringLiteral("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)")));
        return success();
    });
    REQUIRE(created.ok());
    return std::move(*writer);
}

Result<void> insert(db::Database& db, int key) {
    KL_TRY_ASSIGN(db::Transaction tx, db.begin());
    KL_TRY(db.exec(QStringLiteral("INSERT INTO t (k, v) VALUES (?, ?)"),
                   {key, QStringLiteral("slot")}));
    return tx.commit();
}

} // namespace

TEST_CASE("record writer: a failing write in a group fails alone", "[provisioning][writer]") {
    QTemporaryDir dir;
    auto writer = startWriter(dir);
    REQUIRE(writer->call<void>([](db::Database& db) { return insert(db, 7); }).ok());

    const int slots = 16;
    std::vector<std::thread> threads;
    std::atomic<int> ok{0}, failed{0};
    for (int round = 0; round < 20; ++round) {
        for (int s = 0; s < slots; ++s)
            threads.emplace_back([&, s, round] {
                // Slot 3 of every round writes the key that exists: a refusal.
                const int key = s == 3 ? 7 : 1000 + round * slots + s;
                auto r = writer->call<void>([key](db::Database& db) { return insert(db, key); });
                (r.ok() ? ok : failed)++;
            });
        for (auto& t : threads)
            t.join();
        threads.clear();
    }
    CHECK(failed == 20);
    CHECK(ok == 20 * (slots - 1));
    auto count = writer->call<int>([](db::Database& db) -> Result<int> {
        KL_TRY_ASSIGN(QSqlQuery q, db.exec(QStringLiteral("SELECT COUNT(*) FROM t")));
        q.next();
        return q.value(0).toInt();
    });
    REQUIRE(count.ok());
    CHECK(*count == 1 + 20 * (slots - 1)); // every successful write is there, once
    const auto stats = writer->stats();
    CHECK(stats.writes >= quint64(1 + 20 * slots));
    CHECK(stats.commits <= stats.writes);
}
