// Every way an export can be tampered with is reported with the position where it happened.
// Records of the JSONL export are on lines 2..7 (line 1 is the header), of the CSV export on
// lines 3..8 (line 2 holds the column names).

#include "audit_export_fixture.h"

using namespace keyline;
using namespace keyline::db;
using keyline::test::AuditExportFixture;

namespace {

struct Case {
    AuditExportFormat format;
    const char* file;
    int firstRecordLine;
};

const Case kCases[] = {{AuditExportFormat::Jsonl, "audit.jsonl", 2},
                       {AuditExportFormat::Csv, "audit.csv", 3}};

Error verifyFails(AuditExportFixture& f, const AuditExportFiles& files) {
    auto report = f.verify(files);
    REQUIRE_FALSE(report.ok());
    UNSCOPED_INFO(report.error().toString().toStdString());
    return report.error();
}

} // namespace

TEST_CASE("an altered record is reported at its line") {
    for (const Case& c : kCases) {
        AuditExportFixture f;
        const auto files = f.exportTo(QString::fromLatin1(c.file), c.format);
        AuditExportFixture::rewrite(files.recordsPath, [](ParsedAuditExport& p) {
            p.records[2].event = QStringLiteral("certificate.revoked");
        });
        const Error e = verifyFails(f, files);
        CHECK(e.code() == ErrorCode::VerificationFailed);
        CHECK(e.detail() == c.firstRecordLine + 2);
        CHECK(e.toString().contains(QStringLiteral("altered")));
    }
}

TEST_CASE("a removed record is reported where the chain breaks") {
    for (const Case& c : kCases) {
        AuditExportFixture f;
        const auto files = f.exportTo(QString::fromLatin1(c.file), c.format);
        AuditExportFixture::rewrite(files.recordsPath, [](ParsedAuditExport& p) {
            p.records.erase(p.records.begin() + 2);
            p.anchors.count -= 1;
        });
        const Error e = verifyFails(f, files);
        CHECK(e.code() == ErrorCode::VerificationFailed);
        CHECK(e.detail() == c.firstRecordLine + 2); // the record after the removed one
        CHECK(e.toString().contains(QStringLiteral("removed")));
    }
}

TEST_CASE("a removed last record is reported at the anchors") {
    AuditExportFixture f;
    const auto files = f.exportTo(QStringLiteral("audit.jsonl"), AuditExportFormat::Jsonl);
    AuditExportFixture::rewrite(files.recordsPath,
                                [](ParsedAuditExport& p) { p.records.pop_back(); });
    const Error e = verifyFails(f, files);
    CHECK(e.code() == ErrorCode::VerificationFailed);
    CHECK(e.detail() == 7); // the anchors line now follows record 5 on line 6
}

TEST_CASE("an inserted record is reported at its line, even with a valid hash") {
    for (const Case& c : kCases) {
        AuditExportFixture f;
        const auto files = f.exportTo(QString::fromLatin1(c.file), c.format);
        AuditExportFixture::rewrite(files.recordsPath, [](ParsedAuditExport& p) {
            AuditEntry forged = p.records[2];
            forged.seq = p.records[2].seq; // a forger cannot find a free seq either
            forged.event = QStringLiteral("certificate.issued");
            forged.details = QStringLiteral("{\"device\":\"PO-1-00099\"}");
            forged.prevHash = p.records[2].hash;
            forged.orderPrevHash = p.records[2].hash;
            forged.hash = computeAuditHash(forged);
            p.records.insert(p.records.begin() + 3, forged);
            p.anchors.count += 1;
        });
        const Error e = verifyFails(f, files);
        CHECK(e.code() == ErrorCode::VerificationFailed);
        CHECK(e.detail() == c.firstRecordLine + 3);
        CHECK(e.toString().contains(QStringLiteral("inserted")));
    }
}

TEST_CASE("reordered records are reported at the first moved line") {
    for (const Case& c : kCases) {
        AuditExportFixture f;
        const auto files = f.exportTo(QString::fromLatin1(c.file), c.format);
        AuditExportFixture::rewrite(
            files.recordsPath, [](ParsedAuditExport& p) { std::swap(p.records[2], p.records[3]); });
        const Error e = verifyFails(f, files);
        CHECK(e.code() == ErrorCode::VerificationFailed);
        CHECK(e.detail() == c.firstRecordLine + 2);
        CHECK(e.toString().contains(QStringLiteral("out of order")));
    }
}

TEST_CASE("a per-order export detects a record of another order slipped in") {
    AuditExportFixture f;
    const auto all = f.exportTo(QStringLiteral("all.jsonl"), AuditExportFormat::Jsonl);
    const auto po1 =
        f.exportTo(QStringLiteral("po1.jsonl"), AuditExportFormat::Jsonl, QStringLiteral("PO-1"));
    auto whole = parseAuditExport(AuditExportFixture::read(all.recordsPath));
    REQUIRE(whole.ok());
    const AuditEntry other = whole->records[1]; // PO-2's
    AuditExportFixture::rewrite(po1.recordsPath, [&](ParsedAuditExport& p) {
        p.records.insert(p.records.begin() + 1, other);
        p.anchors.count += 1;
    });
    const Error e = verifyFails(f, po1);
    CHECK(e.detail() == 3);
    CHECK(e.toString().contains(QStringLiteral("PO-2")));
}

TEST_CASE("malformed exports name the line and the field") {
    AuditExportFixture f;
    const auto json = f.exportTo(QStringLiteral("a.jsonl"), AuditExportFormat::Jsonl);
    const auto csv = f.exportTo(QStringLiteral("a.csv"), AuditExportFormat::Csv);
    const QByteArray jsonBytes = AuditExportFixture::read(json.recordsPath);
    const QByteArray csvBytes = AuditExportFixture::read(csv.recordsPath);

    auto expectBad = [](const QByteArray& bytes, const char* needle, int line) {
        auto parsed = parseAuditExport(bytes);
        REQUIRE_FALSE(parsed.ok());
        INFO(parsed.error().toString().toStdString());
        CHECK(parsed.error().code() == ErrorCode::BadInput);
        CHECK(parsed.error().detail() == line);
        CHECK(parsed.error().toString().contains(QString::fromLatin1(needle)));
    };

    QList<QByteArray> lines = jsonBytes.split('\n');
    QList<QByteArray> broken = lines;
    broken[3] = "{\"seq\":3,";
    expectBad(broken.join('\n'), "line 4: not JSON", 4);
    broken = lines;
    broken[2].replace("\"seq\":2", "\"seq\":\"2\"");
    expectBad(broken.join('\n'), "\"seq\"", 3);
    broken = lines;
    broken[2].replace("\"prev_hash\":", "\"prev_hsah\":");
    expectBad(broken.join('\n'), "field \"prev_hash\" is missing", 3);
    broken = lines;
    broken[2].replace("{\"details\"", "{ \"details\"");
    expectBad(broken.join('\n'), "canonical", 3);
    expectBad(jsonBytes.left(jsonBytes.size() - 1), "truncated", 8);
    expectBad(QByteArray("hello\n"), "line 1", 1);
    expectBad(QByteArray(), "line 1", 1);

    lines = csvBytes.split('\n');
    broken = lines;
    broken[4] = broken[4].left(broken[4].lastIndexOf(','));
    expectBad(broken.join('\n'), "9 fields, expected 10", 5);
    broken = lines;
    broken[4] = "5,2024,st,sam,PO-1,x.y,\"{unterminated";
    expectBad(broken.join('\n'), "field 7 (details): quote not closed", 5);
    broken = lines;
    broken[3].replace(",sam,", ",s\"am,");
    expectBad(broken.join('\n'), "field 4 (operator)", 4);
    broken = lines;
    broken[3] = "x" + broken[3];
    expectBad(broken.join('\n'), "field \"seq\"", 4);
    broken = lines;
    broken[3].replace(",sam,", ",sam\r,");
    expectBad(broken.join('\n'), "carriage return", 4);
}
