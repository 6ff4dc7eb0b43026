#pragma once

// Small pieces every command group shares: reading the files an engineer names, writing outputs
// atomically, and turning an Error into the one-line message and exit code of DESIGN.md §3.

#include "common/result.h"
#include "station/cli.h"

#include <QByteArray>
#include <QCommandLineParser>
#include <QString>
#include <optional>

namespace keyline::station {

// A file named on the command line: InvalidArgument (exit 2) naming `what` and the path when
// it is missing, unreadable or larger than `maxBytes` (inputs are parsed defensively, and a
// huge file is never read whole).
Result<QByteArray> readArgumentFile(const QString& path, const QString& what,
                                    qint64 maxBytes = 1024 * 1024);

// Replaces `path` atomically (QSaveFile): a crash never leaves half a certificate or keystore.
// Io (exit 3) naming the file.
Result<void> writeOutputFile(const QString& path, const QByteArray& data);

// "keyline: error: <error>" and its exit code.
int failWith(Cli& cli, const Error& error);

// Parses "keyline <group> <subcommand> [options]" with `options` plus -h/--help. --help prints
// `help` (exit 0); a parse error is one line (exit 2); no subcommand prints `help` to stderr
// (exit 2). Returns the exit code when the command is done, or nullopt to go on with
// parser.positionalArguments() (at least one).
std::optional<int> parseCommandGroup(Cli& cli, QCommandLineParser& parser,
                                     const QList<QCommandLineOption>& options,
                                     const QStringList& args, const QString& group,
                                     const char* help);

// Exit 2 when an option outside `allowed` was given for `subcommand`.
int rejectForeignOptions(Cli& cli, const QCommandLineParser& parser, const QString& subcommand,
                         const QStringList& allowed, const QString& helpCommand);

} // namespace keyline::station
