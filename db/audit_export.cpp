#include "db/audit_export.h"

#include "common/ossl_ptr.h"
#include "db/audit_log.h"
#include "db/database.h"
#include "db/detached_cms.h"
#include "db/timestamp.h"

#include <QFile>
#include <QSaveFile>
#include <openssl/evp.h>

namespace keyline::db {

namespace {

// Largest records file the verifier reads into memory.
constexpr qint64 kMaxExportBytes = qint64(1) << 31;

// Writes a file through QSaveFile (all or nothing) while hashing what it writes, so the export
// never holds the whole log in memory.
class HashingFileWriter {
public:
    explicit HashingFileWriter(const QString& path)
        : m_file(path)
        , m_digest(EVP_MD_CTX_new()) {}

    Result<void> open() {
        if (!m_digest || EVP_DigestInit_ex(m_digest.get(), EVP_sha256(), nullptr) != 1)
            return Error(ErrorCode::Internal, QStringLiteral("cannot start SHA-256"));
        if (!m_file.open(QIODevice::WriteOnly))
            return ioError();
        return success();
    }

    Result<void> write(const QByteArray& bytes) {
        if (m_file.write(bytes) != bytes.size())
            return ioError();
        EVP_DigestUpdate(m_digest.get(), bytes.constData(), std::size_t(bytes.size()));
        return success();
    }

    Result<QByteArray> commit() {
        unsigned char md[32];
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(m_digest.get(), md, &len) != 1)
            return Error(ErrorCode::Internal, QStringLiteral("cannot finish SHA-256"));
        if (!m_file.commit())
            return ioError();
        return QByteArray(reinterpret_cast<const char*>(md), int(len));
    }

private:
    Error ioError() const {
        return Error(ErrorCode::Io, QStringLiteral("cannot write %1: %2: check the folder exists "
                                                   "and there is space")
                                        .arg(m_file.fileName(), m_file.errorString()));
    }

    QSaveFile m_file;
    OsslPtr<EVP_MD_CTX, EVP_MD_CTX_free> m_digest;
};

Result<void> writeAtomically(const QString& path, const QByteArray& bytes) {
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(bytes) != bytes.size() || !file.commit())
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot write %1: %2").arg(path, file.errorString()));
    return success();
}

Result<QByteArray> readFile(const QString& path, const QString& what) {
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return Error(
            ErrorCode::NotFound,
            QStringLiteral("cannot read the %1 %2: %3").arg(what, path, file.errorString()));
    if (file.size() > kMaxExportBytes)
        return Error(ErrorCode::BadInput, QStringLiteral("the %1 %2 is too large").arg(what, path));
    return file.readAll();
}

// The station whose chain is exported: the one asked for, else the only one there is.
Result<QString> exportedStation(Database& db, const AuditExportRequest& request) {
    if (!request.stationId.isEmpty())
        return request.stationId;
    KL_TRY_ASSIGN(const QStringList stations, AuditLog::stations(db, request.orderId));
    if (stations.size() > 1)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("the audit log holds the chains of stations %1: export one "
                                    "station's chain at a time")
                         .arg(stations.join(QStringLiteral(", "))));
    return stations.value(0);
}

} // namespace

QString auditSignaturePathFor(const QString& recordsPath) {
    return recordsPath + QStringLiteral(".p7s");
}

Result<AuditExportFiles> exportAudit(Database& db, const AuditExportRequest& request,
                                     const Signer& auditKey,
                                     const QByteArray& certificateChainPem) {
    if (request.recordsPath.isEmpty())
        return Error(ErrorCode::InvalidArgument, QStringLiteral("no output file for the export"));
    KL_TRY_ASSIGN(const QString station, exportedStation(db, request));
    AuditExportFiles files;
    files.recordsPath = request.recordsPath;
    files.signaturePath = auditSignaturePathFor(request.recordsPath);

    HashingFileWriter out(request.recordsPath);
    KL_TRY(out.open());
    const AuditExportHeader header{request.orderId, timestampNow()};
    KL_TRY(out.write(encodeAuditHeaderLine(request.format, header)));
    KL_TRY(out.write(encodeAuditColumnsLine(request.format)));
    AuditExportAnchors& anchors = files.anchors;
    KL_TRY(AuditLog(db, station).forEach(request.orderId, [&](const AuditEntry& e) -> Result<void> {
        if (anchors.count == 0)
            anchors.firstPrevHash = header.wholeLog() ? e.prevHash : e.orderPrevHash;
        anchors.lastHash = e.hash;
        ++anchors.count;
        return out.write(encodeAuditRecordLine(request.format, e));
    }));
    if (!header.wholeLog() && anchors.count == 0)
        return Error(
            ErrorCode::NotFound,
            QStringLiteral("order %1 has no audit entries%2")
                .arg(request.orderId, request.stationId.isEmpty()
                                          ? QString()
                                          : QStringLiteral(" of station ") + request.stationId));
    KL_TRY(out.write(encodeAuditAnchorsLine(request.format, anchors)));
    KL_TRY_ASSIGN(const QByteArray digest, out.commit());

    KL_TRY_ASSIGN(const QByteArray signature,
                  signDetachedCms(digest, auditKey, certificateChainPem));
    KL_TRY(writeAtomically(files.signaturePath, signature));
    return files;
}

Result<AuditExportReport> verifyAuditExport(const QString& recordsPath,
                                            const QByteArray& trustedRootsPem,
                                            const QString& signaturePath) {
    const QString sigPath =
        signaturePath.isEmpty() ? auditSignaturePathFor(recordsPath) : signaturePath;
    KL_TRY_ASSIGN(const QByteArray records, readFile(recordsPath, QStringLiteral("audit export")));
    KL_TRY_ASSIGN(const QByteArray signature, readFile(sigPath, QStringLiteral("signature")));
    KL_TRY_ASSIGN(const ParsedAuditExport parsed, parseAuditExport(records).context(recordsPath));
    // The chain first: it names the record that changed, where the signature can only say
    // that something did.
    KL_TRY(verifyAuditExportChain(parsed).context(recordsPath));
    AuditExportReport report;
    report.header = parsed.header;
    report.anchors = parsed.anchors;
    KL_TRY_ASSIGN(report.signer,
                  verifyDetachedCms(signature, records, trustedRootsPem).context(sigPath));
    return report;
}

} // namespace keyline::db
