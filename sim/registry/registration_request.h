#pragma once

// The body of POST /v1/customers/{customer}/devices, exactly what the station's outbox sends
// (provisioning/certificate_step.cpp registrationFor()), checked field by field. Every refusal
// names the field, so a station engineer can tell a station bug from a registry bug.

#include "sim/registry/api_error.h"
#include "sim/registry/certificates.h"

#include <variant>

namespace keyline::registry {

inline constexpr qsizetype kMaxBodyBytes = 16 * 1024;

// 413 for a body of `size` bytes.
ApiError bodyTooLarge(qsizetype size);

struct RegistrationRequest {
    QString deviceId;
    QString customerId;
    QString environment; // dev | prod
    QString chipUid;     // lower-case hex
    CertificateInfo certificate;
};

// Parses and checks `body` for `pathCustomer`: size (413), JSON object with exactly the known
// members (400), identifiers, environment, chip UID, state "created", and a PEM certificate
// (leaf, optionally followed by its intermediates) whose CN/O/OU match the body and that
// chains to the device root.
std::variant<RegistrationRequest, ApiError> parseRegistration(const QByteArray& body,
                                                              const QString& pathCustomer,
                                                              const CertificateVerifier& deviceCa);

} // namespace keyline::registry
