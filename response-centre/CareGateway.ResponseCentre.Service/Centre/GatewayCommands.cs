using System.Text;
using System.Text.Json;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using Microsoft.Extensions.Logging;

namespace CareGateway.ResponseCentre.Service.Centre;

/// <summary>Publishes a command to a gateway; false when the broker did not take it (it is sent again later).</summary>
public interface ICommandSender
{
    Task<bool> TrySendCommandAsync(string gatewayId, byte[] payload, CancellationToken ct);
}

/// <summary>
/// The console's commands to gateways (docs/protocol.md, "Commands from the centre"): each is stored before it is sent,
/// sent again with the same id every <see cref="ResendAfter"/> until the gateway answers (the gateway runs an id once),
/// and given up as <c>expired</c> after <see cref="GiveUpAfter"/>. Results are stored with the command, so the console
/// shows each command with its result and the record keeps both.
/// </summary>
public sealed class GatewayCommands(ICentreStore store, ICommandSender sender, CentreEvents events, TimeProvider time, ILogger<GatewayCommands> log)
{
    public static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(30);

    /// <summary>A command older than this without an answer is reported as expired (a gateway offline this long has a technical alarm of its own).</summary>
    public static readonly TimeSpan GiveUpAfter = TimeSpan.FromHours(1);

    public const string Expired = "expired";

    /// <summary>Stores and sends a command; returns its id. <paramref name="careProfile"/> only for the profile commands.</summary>
    public async Task<string> SendAsync(string gatewayId, string command, string by, JsonElement? careProfile, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var message = new CommandMessage { CommandId = Guid.CreateVersion7(now).ToString(), GatewayId = gatewayId, Command = command, SentAt = now.ToUniversalTime(), By = by, CareProfile = careProfile };
        var payload = CommandJson.Serialize(message);
        await store.AddCommandAsync(new GatewayCommandRecord
        {
            CommandId = message.CommandId, GatewayId = gatewayId, Command = command, By = by, Payload = Encoding.UTF8.GetString(payload), CreatedAt = now,
        }, ct);
        await TrySendAsync(message.CommandId, gatewayId, payload, ct);
        events.Publish("command");
        return message.CommandId;
    }

    /// <summary>A result from a gateway: stored with its command (a repeated answer changes nothing).</summary>
    public async Task OnResultAsync(CommandResultMessage result, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(result);
        var json = Encoding.UTF8.GetString(CommandJson.Serialize(result));
        if (await store.RecordCommandResultAsync(result.CommandId, result.GatewayId, result.Status.ToString().ToLowerInvariant(), result.Reason, result.At, json, ct))
        {
            events.Publish("command");
        }
    }

    /// <summary>On the health tick: sends again what has no answer yet, and gives up on what waited too long.</summary>
    public async Task ResendWaitingAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        foreach (var c in await store.WaitingCommandsAsync(200, ct))
        {
            if (now - c.CreatedAt >= GiveUpAfter)
            {
                await store.RecordCommandResultAsync(c.CommandId, c.GatewayId, Expired, $"no answer from the gateway within {GiveUpAfter.TotalMinutes:0} minutes (sent {c.Attempts} times); it was not carried out as far as the centre knows", now, null, ct);
                events.Publish("command");
            }
            else if (c.SentAt is not { } sent || now - sent >= ResendAfter)
            {
                await TrySendAsync(c.CommandId, c.GatewayId, Encoding.UTF8.GetBytes(c.Payload), ct);
            }
        }
    }

    private async Task TrySendAsync(string commandId, string gatewayId, byte[] payload, CancellationToken ct)
    {
        if (await sender.TrySendCommandAsync(gatewayId, payload, ct))
        {
            await store.MarkCommandSentAsync(commandId, time.GetUtcNow(), ct);
        }
        else
        {
            log.LogDebug("Command {CommandId} to {GatewayId} not taken by the broker; sent again on the next health tick", commandId, gatewayId);
        }
    }
}
