// libFuzzer target for the meaning of the back-end's answers
// (provisioning/registration_answer.cpp): status, Content-Type and body as HttpsRegistrationClient
// hands them over after the HTTPS exchange (Qt parses the HTTP framing; the client caps the body at
// kMaxBackendAnswerBytes). Input: 2 bytes status (big-endian, mod 1000), 1 byte choosing the
// Content-Type, the body. Seeds: tests/fuzz/corpus/fuzz_registry_answer/.
//
// Properties checked beyond "no crash":
//  - an outcome matches the status: Registered only for 201, AlreadyRegistered only for 200,
//    and both only for the device's own record; Refused only for 400/403/409/413/415;
//  - what the back-end writes into a refusal reason or error never breaks the one-line rule
//    (it ends up in the outbox's last error, the run report and logs);
//  - an error is BadInput or EnvironmentNotReady and carries the status.

#include "provisioning/registration_answer.h"

#include <QJsonDocument>
#include <cstdint>
#include <cstdlib>

using namespace keyline::provisioning;

namespace {

bool oneLine(const QString& s) {
    for (QChar c : s)
        if (c.unicode() < 0x20 || c.unicode() == 0x7f || c == QChar(0x2028) || c == QChar(0x2029))
            return false;
    return true;
}

template <typename T>
void checkError(const keyline::Result<T>& r, int status) {
    if (r.ok())
        return;
    const keyline::Error& e = r.error();
    if (e.code() != keyline::ErrorCode::BadInput &&
        e.code() != keyline::ErrorCode::EnvironmentNotReady &&
        e.code() != keyline::ErrorCode::Refused)
        std::abort();
    if (e.detail() != status || !oneLine(e.toString()))
        std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3 || size > std::size_t(kMaxBackendAnswerBytes) + 3)
        return 0;
    static const char* const kTypes[] = {"application/json", "application/json; charset=utf-8",
                                         "text/html", "", "application/jsonx"};
    HttpAnswer a;
    a.status = ((data[0] << 8) | data[1]) % 1000;
    a.contentType = QLatin1String(kTypes[data[2] % 5]);
    a.body = QByteArray(reinterpret_cast<const char*>(data + 3), qsizetype(size - 3));
    const QString device = QStringLiteral("PO-1-00001");
    const QString what = QStringLiteral("the registration of PO-1-00001");

    auto outcome = registrationOutcome(a, device, what);
    checkError(outcome, a.status);
    if (outcome.ok()) {
        using Kind = RegistrationOutcome::Kind;
        if (outcome->httpStatus != a.status || !oneLine(outcome->reason))
            std::abort();
        const bool refusal = a.status == 400 || a.status == 403 || a.status == 409 ||
                             a.status == 413 || a.status == 415;
        if ((outcome->kind == Kind::Registered) != (a.status == 201) ||
            (outcome->kind == Kind::AlreadyRegistered) != (a.status == 200) ||
            (outcome->kind == Kind::Refused) != refusal)
            std::abort();
        if (outcome->kind != Kind::Refused &&
            QJsonDocument::fromJson(a.body).object().value(QStringLiteral("deviceId")).toString() !=
                device)
            std::abort();
    }
    auto who = whoamiAnswer(a, QStringLiteral("GET /v1/whoami"));
    checkError(who, a.status);
    if (who.ok() && (a.status != 200 || !who->value(QStringLiteral("role")).isString()))
        std::abort();
    auto list = deviceListAnswer(a, QStringLiteral("GET /v1/customers/acme/devices"));
    checkError(list, a.status);
    if (list.ok() && (a.status != 200 || !list->value(QStringLiteral("devices")).isArray()))
        std::abort();
    return 0;
}
