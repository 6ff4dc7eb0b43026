#pragma once

// What the back-end's answers mean (docs/backend-api.md), apart from the HTTPS exchange that
// brings them: pure functions of status, Content-Type and body, so that a fuzzer
// (tests/fuzz/fuzz_registry_answer.cpp) reaches every path without a network.

#include "provisioning/registration_client.h"

namespace keyline::provisioning {

// One HTTP answer as the client received it (the body at most kMaxBackendAnswerBytes).
struct HttpAnswer {
    int status = 0;
    QByteArray body;
    QString contentType;
};

// The answer to POST /v1/customers/{customer}/devices for `deviceId`: 201/200 with the device's
// record, a refusal for good (400, 403, 409, 413, 415, with the API's error body), or an error
// meaning "try again later" (EnvironmentNotReady for other statuses, BadInput naming what is
// malformed). `what` names the request in messages.
Result<RegistrationOutcome> registrationOutcome(const HttpAnswer& a, const QString& deviceId,
                                                const QString& what);
// GET /v1/whoami: the object with a "role" string.
Result<QJsonObject> whoamiAnswer(const HttpAnswer& a, const QString& what);
// GET /v1/customers/{customer}/devices: the object with a "devices" list; 400 and 403 Refused.
Result<QJsonObject> deviceListAnswer(const HttpAnswer& a, const QString& what);

} // namespace keyline::provisioning
