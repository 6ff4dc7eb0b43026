#pragma once

#include <QStringList>
#include <QTextStream>

namespace keyline::station {

// Streams and global options shared by every command of the `keyline` tool.
struct Cli {
    QTextStream& out;
    QTextStream& err;
    QString configPath; // --config, empty if not given
    QString program = QStringLiteral("keyline");

    // Prints "keyline: error: <text>" and returns the exit code.
    int fail(int exitCode, const QString& text);
};

// Runs `keyline` with its arguments (argv without the program name); returns the exit code.
int runCli(Cli& cli, QStringList args);

// Command groups, each in its own file.
int runDeviceCommand(Cli& cli, const QStringList& args);
int runHsmCommand(Cli& cli, const QStringList& args);
int runCaCommand(Cli& cli, const QStringList& args);
int runKeystoreCommand(Cli& cli, const QStringList& args);
int runAuditCommand(Cli& cli, const QStringList& args);    // station/audit_commands.cpp
int runOperatorCommand(Cli& cli, const QStringList& args); // station/operator_commands.cpp
int runOrderCommand(Cli& cli, const QStringList& args);
int runRunCommand(Cli& cli, const QStringList& args);
int runRegistryCommand(Cli& cli, const QStringList& args); // station/registry_commands.cpp
int runDoctorCommand(Cli& cli, const QStringList& args);   // station/doctor_command.cpp

} // namespace keyline::station
