#include "station/command_util.h"

#include <QFile>
#include <QFileInfo>
#include <QSaveFile>

namespace keyline::station {

Result<QByteArray> readArgumentFile(const QString& path, const QString& what, qint64 maxBytes) {
    const QFileInfo info(path);
    if (!info.isFile())
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("%1 file %2 does not exist or is not a file").arg(what, path));
    if (info.size() > maxBytes)
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("%1 file %2 is %3 bytes, more than the %4 bytes it can be")
                         .arg(what, path)
                         .arg(info.size())
                         .arg(maxBytes));
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return Error(ErrorCode::InvalidArgument,
                     QStringLiteral("cannot read %1 file %2: %3").arg(what, path, f.errorString()));
    return f.read(maxBytes + 1);
}

Result<void> writeOutputFile(const QString& path, const QByteArray& data) {
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(data) != data.size() || !f.commit())
        return Error(ErrorCode::Io,
                     QStringLiteral("cannot write %1: %2; check the directory exists and is "
                                    "writable")
                         .arg(path, f.errorString()));
    return success();
}

int failWith(Cli& cli, const Error& error) {
    return cli.fail(exitCodeFor(error.code()), error.toString());
}

int rejectForeignOptions(Cli& cli, const QCommandLineParser& parser, const QString& subcommand,
                         const QStringList& allowed, const QString& helpCommand) {
    for (const QString& name : parser.optionNames()) {
        if (!allowed.contains(name))
            return cli.fail(2, QStringLiteral("%1 takes no option '%2'; see %3 --help")
                                   .arg(subcommand, name, helpCommand));
    }
    return 0;
}

std::optional<int> parseCommandGroup(Cli& cli, QCommandLineParser& parser,
                                     const QList<QCommandLineOption>& options,
                                     const QStringList& args, const QString& group,
                                     const char* help) {
    parser.setSingleDashWordOptionMode(QCommandLineParser::ParseAsLongOptions);
    const QCommandLineOption helpOption({QStringLiteral("h"), QStringLiteral("help")}, QString());
    parser.addOption(helpOption);
    parser.addOptions(options);
    parser.addPositionalArgument(QStringLiteral("subcommand"), QString());
    if (!parser.parse(QStringList{QStringLiteral("keyline")} + args))
        return cli.fail(2,
                        parser.errorText() + QStringLiteral("; see keyline %1 --help").arg(group));
    if (parser.isSet(helpOption)) {
        cli.out << QString::fromUtf8(help);
        return 0;
    }
    if (parser.positionalArguments().isEmpty()) {
        cli.err << QString::fromUtf8(help);
        return 2;
    }
    return std::nullopt;
}

} // namespace keyline::station
