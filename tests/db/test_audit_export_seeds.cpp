// The fuzzer's seed exports were written by an independent script from docs/audit.md (not by
// the exporter), so their parsing and verifying shows the documented encoding is the real one.

#include "db/audit_export_format.h"

#include <QDir>
#include <QFile>
#include <catch2/catch.hpp>

using namespace keyline::db;

TEST_CASE("the documented encoding reproduces the exporter's hashes and files") {
    const QDir corpus(QStringLiteral(KEYLINE_AUDIT_SEED_DIR));
    const QStringList seeds = corpus.entryList(QDir::Files);
    REQUIRE(seeds.size() >= 4);
    for (const QString& name : seeds) {
        INFO(name.toStdString());
        QFile file(corpus.filePath(name));
        REQUIRE(file.open(QIODevice::ReadOnly));
        const QByteArray bytes = file.readAll();
        auto parsed = parseAuditExport(bytes);
        if (!parsed.ok())
            FAIL(parsed.error().toString().toStdString());
        CHECK(parsed->format == (name.endsWith(QStringLiteral(".csv")) ? AuditExportFormat::Csv
                                                                       : AuditExportFormat::Jsonl));
        auto chain = verifyAuditExportChain(*parsed);
        if (!chain.ok())
            FAIL(chain.error().toString().toStdString());
        CHECK(encodeAuditExport(*parsed) == bytes);
    }
}
