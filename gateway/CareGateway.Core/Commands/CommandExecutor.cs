using CareGateway.Protocol;
using Microsoft.Extensions.Logging;

namespace CareGateway.Core.Commands;

/// <summary>
/// Carries out the centre's commands (docs/protocol.md, "Commands from the centre"), one at a time, each at most once
/// per command id, and says how each ended. Plain code on <see cref="TimeProvider"/>: the transports (the centre's
/// broker, Azure IoT Hub) only hand it the bytes and send back what it answers.
/// </summary>
public sealed class CommandExecutor : IDisposable
{
    private readonly string _gatewayId;
    private readonly AlarmRaiser _raiser;
    private readonly ICareProfileStore _profiles;
    private readonly Func<DiagnosticsReport> _diagnostics;
    private readonly ICommandJournal _journal;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly Action<bool, string>? _setAway;
    private readonly Action<bool, string>? _setVisitor;
    private readonly Func<System.Text.Json.JsonElement, (ProfilePreview? Preview, IReadOnlyList<string> Errors)>? _preview;

    public CommandExecutor(
        string gatewayId,
        AlarmRaiser raiser,
        ICareProfileStore profiles,
        Func<DiagnosticsReport> diagnostics,
        ICommandJournal journal,
        TimeProvider time,
        ILogger log,
        Action<bool, string>? setAway = null,
        Action<bool, string>? setVisitor = null,
        Func<System.Text.Json.JsonElement, (ProfilePreview? Preview, IReadOnlyList<string> Errors)>? preview = null)
    {
        GatewayId.ThrowIfInvalid(gatewayId);
        _gatewayId = gatewayId;
        _raiser = raiser;
        _profiles = profiles;
        _diagnostics = diagnostics;
        _journal = journal;
        _time = time;
        _log = log;
        _setAway = setAway;
        _setVisitor = setVisitor;
        _preview = preview;
    }

    /// <summary>Raised after a command was carried out (not for an answer repeated for a duplicate id).</summary>
    public event Action<CommandMessage, CommandResultMessage>? Executed;

    /// <summary>
    /// Parses a command as it came off the wire and carries it out. A command that fails strict parsing but has a
    /// usable command id is answered <c>rejected</c> with the parse error; without one there is no one to answer
    /// (null, and a warning in the log).
    /// </summary>
    public async Task<CommandResultMessage?> HandleAsync(ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        if (CommandJson.TryParseCommand(payload.Span, out var command, out var error))
        {
            return await ExecuteAsync(command, cancellationToken);
        }

        if (CommandJson.TryReadCommandId(payload.Span, out var commandId, out var name))
        {
            _log.LogWarning("Rejected command {CommandId}: {Error}", commandId, error);
            return Result(commandId, name.Length == 0 ? "unknown" : name, CommandStatus.Rejected, error);
        }

        _log.LogWarning("Ignored a command without a usable commandId: {Error}", error);
        return null;
    }

    /// <summary>Carries out one command, or repeats the answer if this command id was already carried out.</summary>
    public async Task<CommandResultMessage> ExecuteAsync(CommandMessage command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            if (_journal.Find(command.CommandId) is { } earlier)
            {
                _log.LogInformation("Command {CommandId} ({Command}) was already carried out; answering again without running it", command.CommandId, command.Command);
                return earlier;
            }

            var result = command.GatewayId != _gatewayId
                ? Result(command, CommandStatus.Rejected, $"gatewayId: the command is for gateway '{command.GatewayId}', this is '{_gatewayId}'")
                : command.Command switch
                {
                    CommandKind.TestAlarm => await TestAlarmAsync(command, cancellationToken),
                    CommandKind.ReplaceCareProfile => ReplaceCareProfile(command),
                    CommandKind.PreviewCareProfile => PreviewCareProfile(command),
                    CommandKind.RequestDiagnostics => Diagnostics(command),
                    CommandKind.SetAway => Away(command, away: true),
                    CommandKind.SetHome => Away(command, away: false),
                    CommandKind.SetVisitor => Visitor(command, visitor: true),
                    CommandKind.EndVisitor => Visitor(command, visitor: false),
                    _ => Result(command, CommandStatus.Rejected, $"command: unknown command '{command.Command}'"),
                };

            _journal.Record(result);
            _log.LogInformation("Command {CommandId} ({Command}): {Status}: {Reason}", command.CommandId, command.Command, result.Status, result.Reason);
            Executed?.Invoke(command, result);
            return result;
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<CommandResultMessage> TestAlarmAsync(CommandMessage command, CancellationToken ct)
    {
        try
        {
            var request = new AlarmRequest(AlarmType.Test, null, null, $"End-to-end test alarm requested by the centre (command {command.CommandId})", _time.GetUtcNow());
            var alarm = await _raiser.RaiseAsync(request, ct);
            return Result(command, CommandStatus.Ok, "test alarm stored; it goes to the centre like any alarm and waits for its acknowledgement") with { AlarmId = alarm.AlarmId };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _log.LogError(ex, "Test alarm for command {CommandId} could not be stored", command.CommandId);
            return Result(command, CommandStatus.Failed, $"the test alarm could not be stored: {ex.Message}");
        }
    }

    private CommandResultMessage ReplaceCareProfile(CommandMessage command)
    {
        IReadOnlyList<string> errors;
        try
        {
            errors = _profiles.TryReplace(command.CareProfile!.Value);
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "Care profile from command {CommandId} could not be stored", command.CommandId);
            return Result(command, CommandStatus.Failed, $"the care profile could not be stored: {ex.Message}; the care profile in use is unchanged");
        }

        return errors.Count == 0
            ? Result(command, CommandStatus.Ok, "care profile validated, stored and in use (a case already in the making keeps its deadline)")
            : Result(command, CommandStatus.Rejected, $"{string.Join("; ", errors)}; the care profile in use is unchanged");
    }

    private CommandResultMessage PreviewCareProfile(CommandMessage command)
    {
        if (_preview is null)
        {
            return Result(command, CommandStatus.Failed, "this gateway keeps no recording of its sensor events to preview on");
        }

        try
        {
            var (preview, errors) = _preview(command.CareProfile!.Value);
            return errors.Count > 0 || preview is null
                ? Result(command, CommandStatus.Rejected, $"{string.Join("; ", errors)}; nothing was applied")
                : Result(command, CommandStatus.Ok, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"care profile valid, not applied: on the {preview.Events} sensor events since {preview.From:yyyy-MM-dd HH:mm} UTC it would have raised {preview.AlarmCount} alarm(s)")) with { Preview = preview };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _log.LogError(ex, "Preview for command {CommandId} failed", command.CommandId);
            return Result(command, CommandStatus.Failed, $"the preview could not be made: {ex.Message}; nothing was applied");
        }
    }

    private CommandResultMessage Away(CommandMessage command, bool away)
    {
        if (_setAway is null)
        {
            return Result(command, CommandStatus.Failed, "this gateway has no rules to pause");
        }

        // Queued on the rule loop: it takes effect between two sensor events, in order with them.
        _setAway(away, $"centre ({command.By})");
        return Result(
            command,
            CommandStatus.Ok,
            away
                ? "away: door, bed and inactivity rules paused; fall, panic, smoke and water stay on; a panic press ends it"
                : "home: every rule of the care profile applies");
    }

    private CommandResultMessage Visitor(CommandMessage command, bool visitor)
    {
        if (_setVisitor is null)
        {
            return Result(command, CommandStatus.Failed, "this gateway has no rules to pause");
        }

        // Queued on the rule loop like away: in order with the sensor events.
        _setVisitor(visitor, $"centre ({command.By})");
        return Result(
            command,
            CommandStatus.Ok,
            visitor
                ? "visitor present: inactivity, not-up, bathroom-stay and wandering paused until end-visitor, the visitor button or the profile's visitor.maxMinutes; fall, panic, smoke and water stay on"
                : "visit over: every rule of the care profile applies");
    }

    private CommandResultMessage Diagnostics(CommandMessage command)
    {
        try
        {
            return Result(command, CommandStatus.Ok, "diagnostics attached") with { Diagnostics = _diagnostics() };
        }
        catch (Exception ex)
        {
            return Result(command, CommandStatus.Failed, $"diagnostics could not be collected: {ex.Message}");
        }
    }

    public void Dispose() => _oneAtATime.Dispose();

    /// <summary>A <c>rejected</c> answer for a command the transport refuses before it runs (not journaled).</summary>
    public CommandResultMessage Reject(string commandId, string command, string reason) =>
        Result(commandId, command, CommandStatus.Rejected, reason);

    private CommandResultMessage Result(CommandMessage command, CommandStatus status, string reason) =>
        Result(command.CommandId, command.Command, status, reason);

    private CommandResultMessage Result(string commandId, string command, CommandStatus status, string reason) => new()
    {
        CommandId = commandId,
        GatewayId = _gatewayId,
        Command = command,
        Status = status,
        Reason = reason,
        At = _time.GetUtcNow().ToUniversalTime(),
    };
}
