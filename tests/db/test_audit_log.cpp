#include "db/audit_log.h"
#include "db_fixture.h"

#include <QRegularExpression>

using namespace keyline;
using namespace keyline::db;
using keyline::test::TempDatabase;

namespace {

void appendSample(AuditLog& audit) {
    const QString po1 = QStringLiteral("PO-1"), po2 = QStringLiteral("PO-2");
    for (const auto& [order, event] :
         {std::pair{po1, "order.created"}, std::pair{po2, "order.created"},
          std::pair{po1, "certificate.issued"}, std::pair{QString(), "operator.login"},
          std::pair{po1, "order.closed"}}) {
        auto e = audit.append(
            {QStringLiteral("sam"), order, QString::fromLatin1(event), {{QStringLiteral("n"), 1}}});
        REQUIRE(e.ok());
    }
}

} // namespace

TEST_CASE("audit entries chain by hash, over the log and per order") {
    TempDatabase t;
    AuditLog audit(*t.db, QStringLiteral("station-1"));
    auto first = audit.append({QStringLiteral("sam"),
                               QStringLiteral("PO-1"),
                               QStringLiteral("order.created"),
                               {{QStringLiteral("quantity"), 3}}});
    REQUIRE(first.ok());
    CHECK(first->seq == 1);
    CHECK(first->prevHash == kGenesisHash);
    CHECK(first->orderPrevHash == kGenesisHash);
    CHECK(first->hash == computeAuditHash(*first));
    CHECK(first->details == QStringLiteral("{\"quantity\":3}"));
    CHECK(
        QRegularExpression(QStringLiteral("^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z$"))
            .match(first->time)
            .hasMatch());

    auto other = audit.append(
        {QStringLiteral("sam"), QStringLiteral("PO-2"), QStringLiteral("order.created"), {}});
    auto none = audit.append({QString(), QString(), QStringLiteral("station.started"), {}});
    auto second = audit.append(
        {QStringLiteral("kim"), QStringLiteral("PO-1"), QStringLiteral("order.closed"), {}});
    REQUIRE(other.ok());
    REQUIRE(none.ok());
    REQUIRE(second.ok());
    CHECK(other->prevHash == first->hash);
    CHECK(other->orderPrevHash == kGenesisHash);
    CHECK(none->orderPrevHash.isEmpty());
    CHECK(second->prevHash == none->hash);
    CHECK(second->orderPrevHash == first->hash);

    auto status = audit.verifyChain();
    REQUIRE(status.ok());
    CHECK(status->intact());
    CHECK(status->entries == 4);
    CHECK(status->lastHash == second->hash);
}

TEST_CASE("the canonical encoding is length-prefixed and documented") {
    AuditEntry e;
    e.seq = 7;
    e.time = QStringLiteral("2024-05-01T12:00:00.123Z");
    e.stationId = QStringLiteral("st");
    e.operatorName = QStringLiteral("sam");
    e.orderId = QString();
    e.event = QStringLiteral("x.y");
    e.details = QStringLiteral("{}");
    e.prevHash = kGenesisHash;
    CHECK(canonicalAuditEncoding(e) ==
          QByteArray("keyline-audit-v1\n1:7\n24:2024-05-01T12:00:00.123Z\n2:st\n3:sam\n0:\n3:x.y\n"
                     "2:{}\n64:") +
              kGenesisHash.toLatin1() + "\n0:\n");
}

TEST_CASE("verifyChain reports the first altered entry") {
    TempDatabase t;
    AuditLog audit(*t.db, QStringLiteral("station-1"));
    appendSample(audit);
    REQUIRE(t.db->exec(QStringLiteral("UPDATE audit_log SET details = '{\"n\":2}' WHERE seq = 3"))
                .ok());
    auto status = audit.verifyChain();
    REQUIRE(status.ok());
    REQUIRE_FALSE(status->intact());
    CHECK(*status->firstBrokenSeq == 3);
    CHECK(status->problem.contains(QStringLiteral("altered")));
}

TEST_CASE("verifyChain reports a removed entry") {
    TempDatabase t;
    AuditLog audit(*t.db, QStringLiteral("station-1"));
    appendSample(audit);
    REQUIRE(t.db->exec(QStringLiteral("DELETE FROM audit_log WHERE seq = 2")).ok());
    auto status = audit.verifyChain();
    REQUIRE(status.ok());
    REQUIRE_FALSE(status->intact());
    CHECK(*status->firstBrokenSeq == 2);
    CHECK(status->problem.contains(QStringLiteral("missing")));
}

TEST_CASE("verifyChain reports a relinked entry whose hash was recomputed") {
    TempDatabase t;
    AuditLog audit(*t.db, QStringLiteral("station-1"));
    appendSample(audit);
    // Someone rewrites entry 4 consistently with itself: entry 5 no longer links to it.
    auto q = t.db->exec(QStringLiteral("SELECT seq, recorded_at, station_id, operator, order_id, "
                                       "event, details, prev_hash, order_prev_hash FROM "
                                       "audit_log WHERE seq = 4"));
    REQUIRE(q.ok());
    REQUIRE(q->next());
    AuditEntry e{q->value(0).toLongLong(),    q->value(1).toString(),
                 q->value(2).toString(),      q->value(3).toString(),
                 q->value(4).toString(),      q->value(5).toString(),
                 QStringLiteral("{\"n\":9}"), q->value(7).toString(),
                 q->value(8).toString(),      QString()};
    e.hash = computeAuditHash(e);
    REQUIRE(t.db->exec(QStringLiteral("UPDATE audit_log SET details = ?, hash = ? WHERE seq = 4"),
                       {e.details, e.hash})
                .ok());
    auto status = audit.verifyChain();
    REQUIRE(status.ok());
    REQUIRE_FALSE(status->intact());
    CHECK(*status->firstBrokenSeq == 5);
}

TEST_CASE("audit details must not carry secrets and events must be well formed") {
    TempDatabase t;
    AuditLog audit(*t.db, QStringLiteral("station-1"));
    auto secret = audit.append(
        {QStringLiteral("sam"),
         QString(),
         QStringLiteral("operator.login"),
         {{QStringLiteral("who"), QJsonObject{{QStringLiteral("PIN"), QStringLiteral("1234")}}}}});
    REQUIRE_FALSE(secret.ok());
    CHECK(secret.error().code() == ErrorCode::InvalidArgument);
    CHECK_FALSE(secret.error().toString().contains(QStringLiteral("1234")));
    CHECK_FALSE(
        audit.append({QStringLiteral("sam"), QString(), QStringLiteral("Bad Event"), {}}).ok());
    CHECK_FALSE(
        audit.append({QStringLiteral("sam\nroot"), QString(), QStringLiteral("x.y"), {}}).ok());
    CHECK(audit.verifyChain()->entries == 0);
}
