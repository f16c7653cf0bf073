using System.Data.Common;
using System.Globalization;

namespace CareGateway.ResponseCentre.Service.Storage;

/// <summary>Commands to gateways and their results.</summary>
public abstract partial class SqlCentreStore
{
    private const string CommandColumns = "command_id, gateway_id, command, by_id, payload, created_at, sent_at, attempts, status, reason, result_at, result";

    public async Task AddCommandAsync(GatewayCommandRecord command, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(command);
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, $"INSERT INTO gateway_command ({CommandColumns}) VALUES (@id, @gw, @command, @by, @payload, @created, @sent, @attempts, @status, @reason, @resultAt, @result)", ct,
            ("id", command.CommandId), ("gw", command.GatewayId), ("command", command.Command), ("by", command.By), ("payload", command.Payload),
            ("created", Ms(command.CreatedAt)), ("sent", Ms(command.SentAt)), ("attempts", command.Attempts), ("status", command.Status), ("reason", command.Reason),
            ("resultAt", Ms(command.ResultAt)), ("result", command.Result));
    }

    public async Task MarkCommandSentAsync(string commandId, DateTimeOffset at, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        await ExecAsync(db, null, "UPDATE gateway_command SET sent_at = @at, attempts = attempts + 1 WHERE command_id = @id AND status IS NULL", ct, ("id", commandId), ("at", Ms(at)));
    }

    public async Task<bool> RecordCommandResultAsync(string commandId, string gatewayId, string status, string reason, DateTimeOffset at, string? result, CancellationToken ct)
    {
        await using var db = await OpenAsync(ct);
        return await ExecAsync(db, null, """
            UPDATE gateway_command SET status = @status, reason = @reason, result_at = @at, result = @result
            WHERE command_id = @id AND gateway_id = @gw AND status IS NULL
            """, ct, ("id", commandId), ("gw", gatewayId), ("status", status), ("reason", reason), ("at", Ms(at)), ("result", result)) == 1;
    }

    public Task<IReadOnlyList<GatewayCommandRecord>> CommandsAsync(string gatewayId, int limit, CancellationToken ct) =>
        QueryAsync($"SELECT {CommandColumns} FROM gateway_command WHERE gateway_id = @gw ORDER BY created_at DESC, command_id DESC LIMIT @limit", ReadCommand, ct, ("gw", gatewayId), ("limit", limit));

    public Task<IReadOnlyList<GatewayCommandRecord>> WaitingCommandsAsync(int limit, CancellationToken ct) =>
        QueryAsync($"SELECT {CommandColumns} FROM gateway_command WHERE status IS NULL ORDER BY created_at, command_id LIMIT @limit", ReadCommand, ct, ("limit", limit));

    private static GatewayCommandRecord ReadCommand(DbDataReader r) => new()
    {
        CommandId = r.GetString(0),
        GatewayId = r.GetString(1),
        Command = r.GetString(2),
        By = r.GetString(3),
        Payload = r.GetString(4),
        CreatedAt = FromMs(r.GetValue(5)),
        SentAt = NullableMs(r, 6),
        Attempts = Convert.ToInt32(r.GetValue(7), CultureInfo.InvariantCulture),
        Status = NullableString(r, 8),
        Reason = NullableString(r, 9),
        ResultAt = NullableMs(r, 10),
        Result = NullableString(r, 11),
    };
}
