#pragma once

// A database with audit entries for two orders and a station, and helpers to read, rewrite and
// verify exports.

#include "audit_signer.h"
#include "db/audit_export.h"
#include "db/audit_log.h"
#include "db_fixture.h"

#include <QFile>

namespace keyline::test {

struct AuditExportFixture {
    AuditExportFixture() {
        db::AuditLog audit(*t.db, QStringLiteral("station-7"));
        const QString po1 = QStringLiteral("PO-1"), po2 = QStringLiteral("PO-2");
        const std::pair<QString, const char*> events[] = {
            {po1, "order.created"},        {po2, "order.created"},      {po1, "certificate.issued"},
            {QString(), "operator.login"}, {po1, "certificate.issued"}, {po1, "order.closed"}};
        int n = 0;
        for (const auto& [order, event] : events) {
            auto e = audit.append({QStringLiteral("sam"),
                                   order,
                                   QString::fromLatin1(event),
                                   {{QStringLiteral("n"), ++n},
                                    {QStringLiteral("note"), QStringLiteral("a, \"b\"")}}});
            REQUIRE(e.ok());
        }
    }

    db::AuditExportFiles exportTo(const QString& name, db::AuditExportFormat format,
                                  const QString& orderId = QString()) {
        auto files = db::exportAudit(*t.db, {orderId, format, t.dir.filePath(name), QString()},
                                     signer, signer.certificatePem());
        if (!files.ok())
            FAIL(files.error().toString().toStdString());
        return *files;
    }

    Result<db::AuditExportReport> verify(const db::AuditExportFiles& files) const {
        return db::verifyAuditExport(files.recordsPath, signer.rootPem());
    }

    static QByteArray read(const QString& path) {
        QFile f(path);
        REQUIRE(f.open(QIODevice::ReadOnly));
        return f.readAll();
    }

    static void write(const QString& path, const QByteArray& bytes) {
        QFile f(path);
        REQUIRE(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        REQUIRE(f.write(bytes) == bytes.size());
    }

    // Parses the export, lets `change` edit it, writes it back in canonical form.
    template <typename Change>
    static void rewrite(const QString& path, Change change) {
        auto parsed = db::parseAuditExport(read(path));
        REQUIRE(parsed.ok());
        change(*parsed);
        write(path, db::encodeAuditExport(*parsed));
    }

    TempDatabase t;
    AuditSigner signer;
};

} // namespace keyline::test
