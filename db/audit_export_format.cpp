#include "db/audit_export_format.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QStringList>

namespace keyline::db {

namespace {

const QStringList kRecordFields = {
    QStringLiteral("seq"),      QStringLiteral("time"),      QStringLiteral("station"),
    QStringLiteral("operator"), QStringLiteral("order"),     QStringLiteral("event"),
    QStringLiteral("details"),  QStringLiteral("prev_hash"), QStringLiteral("order_prev_hash"),
    QStringLiteral("hash")};
const QString kFormatName = QStringLiteral("keyline-audit-export");

QStringList recordValues(const AuditEntry& e) {
    return {QString::number(e.seq),
            e.time,
            e.stationId,
            e.operatorName,
            e.orderId,
            e.event,
            e.details,
            e.prevHash,
            e.orderPrevHash,
            e.hash};
}

QByteArray jsonLine(const QJsonObject& object) {
    return QJsonDocument(object).toJson(QJsonDocument::Compact) + '\n';
}

QString csvField(const QString& value) {
    if (!value.contains(QLatin1Char(',')) && !value.contains(QLatin1Char('"')))
        return value;
    QString quoted = value;
    quoted.replace(QLatin1String("\""), QLatin1String("\"\""));
    return QLatin1Char('"') + quoted + QLatin1Char('"');
}

Error badLine(int line, const QString& what) {
    return Error(ErrorCode::BadInput, QStringLiteral("line %1: %2").arg(line).arg(what), line);
}

Result<QJsonObject> jsonObjectLine(const QByteArray& text, int line) {
    QJsonParseError error{};
    const QJsonDocument doc = QJsonDocument::fromJson(text, &error);
    if (error.error != QJsonParseError::NoError)
        return badLine(
            line,
            QStringLiteral("not JSON: %1 at byte %2").arg(error.errorString()).arg(error.offset));
    if (!doc.isObject())
        return badLine(line, QStringLiteral("not a JSON object"));
    return doc.object();
}

Result<void> checkKeys(const QJsonObject& object, const QStringList& expected, int line) {
    for (const QString& key : expected)
        if (!object.contains(key))
            return badLine(line, QStringLiteral("field \"%1\" is missing").arg(key));
    for (auto it = object.begin(); it != object.end(); ++it)
        if (!expected.contains(it.key()))
            return badLine(line, QStringLiteral("field \"%1\" is not expected").arg(it.key()));
    return success();
}

Result<QString> stringField(const QJsonObject& object, const QString& key, int line) {
    const QJsonValue value = object.value(key);
    if (!value.isString())
        return badLine(line, QStringLiteral("field \"%1\" is not a string").arg(key));
    return value.toString();
}

Result<qint64> countField(const QJsonObject& object, const QString& key, int line) {
    const QJsonValue value = object.value(key);
    const qint64 n = value.toInteger(-1);
    if (!value.isDouble() || n < 0)
        return badLine(line, QStringLiteral("field \"%1\" is not a whole number >= 0").arg(key));
    return n;
}

bool isHash(const QString& text) {
    static const QRegularExpression pattern(QStringLiteral("^[0-9a-f]{64}\\z"));
    return pattern.match(text).hasMatch();
}

Result<QStringList> splitCsvRow(const QString& row, int line) {
    QStringList fields;
    qsizetype i = 0;
    const qsizetype n = row.size();
    auto fieldError = [&](const QString& what) {
        const int index = int(fields.size());
        const QString name = index < kRecordFields.size() ? kRecordFields[index] : QString();
        return badLine(line, QStringLiteral("field %1 (%2): %3").arg(index + 1).arg(name, what));
    };
    for (;;) {
        QString field;
        if (i < n && row[i] == QLatin1Char('"')) {
            for (++i;; ++i) {
                if (i >= n)
                    return fieldError(QStringLiteral("quote not closed"));
                if (row[i] != QLatin1Char('"')) {
                    field += row[i];
                } else if (i + 1 < n && row[i + 1] == QLatin1Char('"')) {
                    field += QLatin1Char('"');
                    ++i;
                } else {
                    ++i;
                    break;
                }
            }
            if (i < n && row[i] != QLatin1Char(','))
                return fieldError(QStringLiteral("text after the closing quote"));
        } else {
            for (; i < n && row[i] != QLatin1Char(','); ++i) {
                if (row[i] == QLatin1Char('"'))
                    return fieldError(QStringLiteral("quote inside an unquoted field"));
                field += row[i];
            }
        }
        fields << field;
        if (fields.size() > kRecordFields.size())
            return badLine(line, QStringLiteral("more than %1 fields").arg(kRecordFields.size()));
        if (i >= n)
            break;
        ++i; // the comma
    }
    if (fields.size() != kRecordFields.size())
        return badLine(
            line,
            QStringLiteral("%1 fields, expected %2").arg(fields.size()).arg(kRecordFields.size()));
    return fields;
}

Result<AuditEntry> recordFromValues(const QStringList& v, int line) {
    auto field = [line](const QString& name, const QString& what) {
        return badLine(line, QStringLiteral("field \"%1\": %2").arg(name, what));
    };
    AuditEntry e;
    bool numeric = false;
    e.seq = v[0].toLongLong(&numeric);
    if (!numeric || e.seq < 1)
        return field(kRecordFields[0], QStringLiteral("not a sequence number >= 1"));
    e.time = v[1];
    e.stationId = v[2];
    e.operatorName = v[3];
    e.orderId = v[4];
    e.event = v[5];
    e.details = v[6];
    e.prevHash = v[7];
    e.orderPrevHash = v[8];
    e.hash = v[9];
    for (int i = 1; i < 6; ++i)
        if (!isPlainAuditText(v[i]))
            return field(kRecordFields[i], QStringLiteral("contains control characters"));
    if (e.time.isEmpty() || e.stationId.isEmpty() || e.event.isEmpty())
        return field(e.time.isEmpty()
                         ? kRecordFields[1]
                         : (e.stationId.isEmpty() ? kRecordFields[2] : kRecordFields[5]),
                     QStringLiteral("is empty"));
    if (!QJsonDocument::fromJson(e.details.toUtf8()).isObject())
        return field(kRecordFields[6], QStringLiteral("not a JSON object"));
    if (!isHash(e.prevHash))
        return field(kRecordFields[7], QStringLiteral("not a SHA-256 in lowercase hex"));
    if (e.orderId.isEmpty() ? !e.orderPrevHash.isEmpty() : !isHash(e.orderPrevHash))
        return field(kRecordFields[8], QStringLiteral("must be a SHA-256 in lowercase hex for a "
                                                      "record with an order, else empty"));
    if (!isHash(e.hash))
        return field(kRecordFields[9], QStringLiteral("not a SHA-256 in lowercase hex"));
    return e;
}

Result<AuditEntry> parseRecordLine(AuditExportFormat format, const QByteArray& text, int line) {
    QStringList values;
    if (format == AuditExportFormat::Csv) {
        KL_TRY_ASSIGN(values, splitCsvRow(QString::fromUtf8(text), line));
    } else {
        KL_TRY_ASSIGN(const QJsonObject object, jsonObjectLine(text, line));
        KL_TRY(checkKeys(object, kRecordFields, line));
        const QJsonValue seq = object.value(kRecordFields[0]);
        if (!seq.isDouble() || seq.toInteger(-1) < 1)
            return badLine(line, QStringLiteral("field \"seq\" is not a sequence number >= 1"));
        values << QString::number(seq.toInteger());
        for (qsizetype i = 1; i < kRecordFields.size(); ++i) {
            KL_TRY_ASSIGN(const QString value, stringField(object, kRecordFields[i], line));
            values << value;
        }
    }
    return recordFromValues(values, line);
}

Result<AuditExportHeader> parseHeader(const QByteArray& text, int line) {
    KL_TRY_ASSIGN(const QJsonObject o, jsonObjectLine(text, line));
    KL_TRY(
        checkKeys(o,
                  {QStringLiteral("type"), QStringLiteral("format"), QStringLiteral("version"),
                   QStringLiteral("scope"), QStringLiteral("order"), QStringLiteral("exported_at")},
                  line));
    if (o.value(QLatin1String("type")) != QLatin1String("header") ||
        o.value(QLatin1String("format")) != kFormatName)
        return badLine(line, QStringLiteral("not a Keyline audit export header"));
    if (o.value(QLatin1String("version")).toInteger(-1) != kAuditExportVersion)
        return badLine(
            line,
            QStringLiteral("field \"version\": only version %1 is known").arg(kAuditExportVersion));
    AuditExportHeader h;
    KL_TRY_ASSIGN(h.orderId, stringField(o, QStringLiteral("order"), line));
    KL_TRY_ASSIGN(h.exportedAt, stringField(o, QStringLiteral("exported_at"), line));
    KL_TRY_ASSIGN(const QString scope, stringField(o, QStringLiteral("scope"), line));
    if (scope != (h.wholeLog() ? QLatin1String("all") : QLatin1String("order")))
        return badLine(line, QStringLiteral("field \"scope\" must be \"all\" without an order and "
                                            "\"order\" with one"));
    return h;
}

Result<AuditExportAnchors> parseAnchors(const QByteArray& text, int line) {
    KL_TRY_ASSIGN(const QJsonObject o, jsonObjectLine(text, line));
    KL_TRY(checkKeys(o,
                     {QStringLiteral("type"), QStringLiteral("count"),
                      QStringLiteral("first_prev_hash"), QStringLiteral("last_hash")},
                     line));
    if (o.value(QLatin1String("type")) != QLatin1String("anchors"))
        return badLine(line, QStringLiteral("the last line is not the anchors line"));
    AuditExportAnchors a;
    KL_TRY_ASSIGN(a.count, countField(o, QStringLiteral("count"), line));
    KL_TRY_ASSIGN(a.firstPrevHash, stringField(o, QStringLiteral("first_prev_hash"), line));
    KL_TRY_ASSIGN(a.lastHash, stringField(o, QStringLiteral("last_hash"), line));
    if (!isHash(a.firstPrevHash) || !isHash(a.lastHash))
        return badLine(line, QStringLiteral("anchor hashes must be SHA-256 in lowercase hex"));
    return a;
}

} // namespace

QString auditExportFormatName(AuditExportFormat format) {
    return format == AuditExportFormat::Csv ? QStringLiteral("csv") : QStringLiteral("jsonl");
}

Result<AuditExportFormat> parseAuditExportFormat(const QString& text) {
    if (text == QLatin1String("jsonl"))
        return AuditExportFormat::Jsonl;
    if (text == QLatin1String("csv"))
        return AuditExportFormat::Csv;
    return Error(ErrorCode::InvalidArgument,
                 QStringLiteral("audit export format \"%1\" is neither jsonl nor csv").arg(text));
}

QByteArray encodeAuditHeaderLine(AuditExportFormat format, const AuditExportHeader& header) {
    const QJsonObject o{{QStringLiteral("type"), QStringLiteral("header")},
                        {QStringLiteral("format"), kFormatName},
                        {QStringLiteral("version"), kAuditExportVersion},
                        {QStringLiteral("scope"),
                         header.wholeLog() ? QStringLiteral("all") : QStringLiteral("order")},
                        {QStringLiteral("order"), header.orderId},
                        {QStringLiteral("exported_at"), header.exportedAt}};
    return (format == AuditExportFormat::Csv ? QByteArray("#") : QByteArray()) + jsonLine(o);
}

QByteArray encodeAuditColumnsLine(AuditExportFormat format) {
    if (format != AuditExportFormat::Csv)
        return {};
    return kRecordFields.join(QLatin1Char(',')).toUtf8() + '\n';
}

QByteArray encodeAuditRecordLine(AuditExportFormat format, const AuditEntry& entry) {
    const QStringList values = recordValues(entry);
    if (format == AuditExportFormat::Csv) {
        QStringList fields;
        for (const QString& v : values)
            fields << csvField(v);
        return fields.join(QLatin1Char(',')).toUtf8() + '\n';
    }
    QJsonObject o{{kRecordFields[0], entry.seq}};
    for (qsizetype i = 1; i < kRecordFields.size(); ++i)
        o.insert(kRecordFields[i], values[i]);
    return jsonLine(o);
}

QByteArray encodeAuditAnchorsLine(AuditExportFormat format, const AuditExportAnchors& anchors) {
    const QJsonObject o{{QStringLiteral("type"), QStringLiteral("anchors")},
                        {QStringLiteral("count"), anchors.count},
                        {QStringLiteral("first_prev_hash"), anchors.firstPrevHash},
                        {QStringLiteral("last_hash"), anchors.lastHash}};
    return (format == AuditExportFormat::Csv ? QByteArray("#") : QByteArray()) + jsonLine(o);
}

QByteArray encodeAuditExport(const ParsedAuditExport& parsed) {
    QByteArray out =
        encodeAuditHeaderLine(parsed.format, parsed.header) + encodeAuditColumnsLine(parsed.format);
    for (const AuditEntry& e : parsed.records)
        out += encodeAuditRecordLine(parsed.format, e);
    return out + encodeAuditAnchorsLine(parsed.format, parsed.anchors);
}

Result<ParsedAuditExport> parseAuditExport(const QByteArray& bytes) {
    ParsedAuditExport parsed;
    if (bytes.startsWith('#'))
        parsed.format = AuditExportFormat::Csv;
    else if (!bytes.startsWith('{'))
        return badLine(1, QStringLiteral("not a Keyline audit export (JSONL or CSV)"));
    if (!bytes.endsWith('\n'))
        return badLine(int(bytes.count('\n')) + 1,
                       QStringLiteral("no line end at the end of the file: it is truncated"));
    QList<QByteArray> lines = bytes.split('\n');
    lines.removeLast(); // after the final '\n'
    for (qsizetype i = 0; i < lines.size(); ++i)
        if (lines[i].contains('\r'))
            return badLine(int(i) + 1, QStringLiteral("carriage return: lines end in \\n only"));
    const bool csv = parsed.format == AuditExportFormat::Csv;
    const qsizetype firstRecord = csv ? 2 : 1;
    if (lines.size() < firstRecord + 1)
        return badLine(int(lines.size()) + 1,
                       QStringLiteral("the file ends before the anchors line"));
    auto canonical = [](const QByteArray& line, const QByteArray& encoded, int number) {
        return encoded == line + '\n'
                   ? success()
                   : Result<void>(badLine(number, QStringLiteral("not in the canonical encoding "
                                                                 "the exporter writes")));
    };

    if (csv && !lines.first().startsWith('#'))
        return badLine(1, QStringLiteral("the CSV header line must start with '#'"));
    KL_TRY_ASSIGN(parsed.header, parseHeader(csv ? lines.first().mid(1) : lines.first(), 1));
    KL_TRY(canonical(lines.first(), encodeAuditHeaderLine(parsed.format, parsed.header), 1));
    if (csv)
        KL_TRY(canonical(lines[1], encodeAuditColumnsLine(parsed.format), 2));

    const qsizetype anchorsIndex = lines.size() - 1;
    const QByteArray& last = lines[anchorsIndex];
    if (csv && !last.startsWith('#'))
        return badLine(int(anchorsIndex) + 1,
                       QStringLiteral("the CSV anchors line must start with '#'"));
    KL_TRY_ASSIGN(parsed.anchors, parseAnchors(csv ? last.mid(1) : last, int(anchorsIndex) + 1));
    KL_TRY(canonical(last, encodeAuditAnchorsLine(parsed.format, parsed.anchors),
                     int(anchorsIndex) + 1));

    for (qsizetype i = firstRecord; i < anchorsIndex; ++i) {
        const int number = int(i) + 1;
        KL_TRY_ASSIGN(AuditEntry entry, parseRecordLine(parsed.format, lines[i], number));
        KL_TRY(canonical(lines[i], encodeAuditRecordLine(parsed.format, entry), number));
        parsed.records.push_back(std::move(entry));
        parsed.recordLines.push_back(number);
    }
    return parsed;
}

} // namespace keyline::db
