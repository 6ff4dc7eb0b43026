#include "audit_export_fixture.h"

#include <QProcess>

using namespace keyline;
using namespace keyline::db;
using keyline::test::AuditExportFixture;

namespace {

// Exactly what docs/audit.md tells an auditor to run.
int opensslVerify(const AuditExportFiles& files, const QByteArray& rootPem, const QString& dir) {
    const QString root = dir + QStringLiteral("/root.pem");
    AuditExportFixture::write(root, rootPem);
    QProcess openssl;
    openssl.start(QStringLiteral("openssl"),
                  {QStringLiteral("cms"), QStringLiteral("-verify"), QStringLiteral("-binary"),
                   QStringLiteral("-inform"), QStringLiteral("DER"), QStringLiteral("-in"),
                   files.signaturePath, QStringLiteral("-content"), files.recordsPath,
                   QStringLiteral("-CAfile"), root, QStringLiteral("-purpose"),
                   QStringLiteral("any"), QStringLiteral("-out"), QStringLiteral("/dev/null")});
    REQUIRE(openssl.waitForFinished(30000));
    if (openssl.exitCode() != 0)
        UNSCOPED_INFO(openssl.readAllStandardError().toStdString());
    return openssl.exitStatus() == QProcess::NormalExit ? openssl.exitCode() : -1;
}

} // namespace

TEST_CASE("a whole-log JSONL export verifies offline and with plain openssl") {
    AuditExportFixture f;
    const AuditExportFiles files =
        f.exportTo(QStringLiteral("audit.jsonl"), AuditExportFormat::Jsonl);
    CHECK(files.signaturePath == files.recordsPath + QStringLiteral(".p7s"));
    CHECK(files.anchors.count == 6);
    CHECK(files.anchors.firstPrevHash == kGenesisHash);

    auto report = f.verify(files);
    REQUIRE(report.ok());
    CHECK(report->anchors.count == 6);
    CHECK(report->header.wholeLog());
    CHECK(report->signer.contains(QStringLiteral("Keyline Station Audit")));
    CHECK(opensslVerify(files, f.signer.rootPem(), f.t.dir.path()) == 0);

    const QList<QByteArray> lines = AuditExportFixture::read(files.recordsPath).split('\n');
    REQUIRE(lines.size() == 9); // header, 6 records, anchors, "" after the last '\n'
    CHECK(lines[0].startsWith("{\"exported_at\":"));
    CHECK(lines[1].contains("\"seq\":1"));
    CHECK(lines[7].contains("\"type\":\"anchors\""));
}

TEST_CASE("a per-order CSV export holds only that order and chains on its own") {
    AuditExportFixture f;
    const AuditExportFiles files =
        f.exportTo(QStringLiteral("po1.csv"), AuditExportFormat::Csv, QStringLiteral("PO-1"));
    CHECK(files.anchors.count == 4);
    auto report = f.verify(files);
    REQUIRE(report.ok());
    CHECK(report->header.orderId == QStringLiteral("PO-1"));
    CHECK(opensslVerify(files, f.signer.rootPem(), f.t.dir.path()) == 0);
    const QByteArray csv = AuditExportFixture::read(files.recordsPath);
    CHECK(csv.contains("\nseq,time,station,operator,order,event,details,prev_hash,"
                       "order_prev_hash,hash\n"));
    CHECK_FALSE(csv.contains("PO-2"));
    CHECK(csv.contains("\"{\"\"n\"\":1,\"\"note\"\":\"\"a, \\\"\"b\\\"\"\"\"}\""));
}

TEST_CASE("an order with no audit entries has nothing to export") {
    AuditExportFixture f;
    auto files = exportAudit(*f.t.db,
                             {QStringLiteral("PO-9"), AuditExportFormat::Jsonl,
                              f.t.dir.filePath(QStringLiteral("x.jsonl")), QString()},
                             f.signer, f.signer.certificatePem());
    REQUIRE_FALSE(files.ok());
    CHECK(files.error().code() == ErrorCode::NotFound);
}

TEST_CASE("a change the chain cannot see is caught by the signature") {
    AuditExportFixture f;
    const AuditExportFiles files = f.exportTo(QStringLiteral("a.jsonl"), AuditExportFormat::Jsonl);
    AuditExportFixture::rewrite(files.recordsPath, [](ParsedAuditExport& p) {
        p.header.exportedAt = QStringLiteral("2000-01-01T00:00:00.000Z");
    });
    auto report = f.verify(files);
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().code() == ErrorCode::VerificationFailed);
    CHECK(report.error().toString().contains(QStringLiteral("signature")));
    CHECK(opensslVerify(files, f.signer.rootPem(), f.t.dir.path()) != 0);
}

TEST_CASE("an export signed under another root is refused") {
    AuditExportFixture f;
    const AuditExportFiles files = f.exportTo(QStringLiteral("a.jsonl"), AuditExportFormat::Jsonl);
    keyline::test::AuditSigner stranger("Somebody Else's Root");
    auto report = verifyAuditExport(files.recordsPath, stranger.rootPem());
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().code() == ErrorCode::VerificationFailed);
    CHECK(opensslVerify(files, stranger.rootPem(), f.t.dir.path()) != 0);
}

TEST_CASE("the audit certificate must belong to the audit key") {
    AuditExportFixture f;
    keyline::test::AuditSigner other;
    auto files = exportAudit(*f.t.db,
                             {QString(), AuditExportFormat::Jsonl,
                              f.t.dir.filePath(QStringLiteral("x.jsonl")), QString()},
                             f.signer, other.certificatePem());
    REQUIRE_FALSE(files.ok());
    CHECK(files.error().code() == ErrorCode::InvalidArgument);
}

TEST_CASE("a missing signature file is reported") {
    AuditExportFixture f;
    const AuditExportFiles files = f.exportTo(QStringLiteral("a.jsonl"), AuditExportFormat::Jsonl);
    QFile::remove(files.signaturePath);
    auto report = f.verify(files);
    REQUIRE_FALSE(report.ok());
    CHECK(report.error().toString().contains(QStringLiteral(".p7s")));
}
