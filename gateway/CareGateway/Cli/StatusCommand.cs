using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Core;
using CareGateway.Uplink;
using Spectre.Console;

namespace CareGateway.Cli;

/// <summary>
/// <c>care-gateway status</c>: what the running gateway reports, read where it reports it: its retained status and
/// sensor statuses on the centre's broker (battery, link quality, last seen), and its outbox in the data directory
/// (pending alarms, the oldest one's age, the last sequence number). Exit 0 when it could report.
/// </summary>
public static class StatusCommand
{
    public static Command Create()
    {
        var command = new Command("status", "Show the sensors (battery, link quality, last seen), the connection to the centre and the outbox.");
        command.SetAction((parse, ct) => CliOptions.InvokeAsync(parse, (c, p) => RunAsync(p, c, TimeSpan.FromSeconds(5), ct)));
        return command;
    }

    public static async Task<int> RunAsync(string configPath, CliContext context, TimeSpan wait, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var config = ConfigFile.Load(configPath);
        var now = context.Time.GetUtcNow();

        // The outbox: the service's own SQLite file (WAL: reading beside the running service is safe).
        var outboxPath = Path.Combine(config.DataDirectory, "outbox.db");
        JsonObject outbox;
        if (File.Exists(outboxPath))
        {
            using var db = new SqliteOutbox(outboxPath);
            var pending = db.Pending(10_000);
            var oldest = pending.Count == 0 ? (DateTimeOffset?)null : pending.Min(p => p.Alarm.RaisedAt);
            outbox = new JsonObject
            {
                ["pending"] = db.PendingCount,
                ["oldestPendingSeconds"] = oldest is { } o ? (long)(now - o).TotalSeconds : null,
                ["lastSeq"] = db.LastSeq,
            };
        }
        else
        {
            outbox = new JsonObject { ["pending"] = 0, ["lastSeq"] = 0, ["note"] = $"no outbox yet at {outboxPath}" };
        }

        // The connection and the sensors: what the service published, retained, at the centre's broker.
        var zone = ProfileCommand.Zone(config);
        string connection;
        string connectionText;
        JsonObject centre;
        var sensors = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        try
        {
            await using var mqtt = await LocalMqtt.ConnectAsync(config.Broker.Host, config.Broker.Port, $"{config.GatewayId}-status", config.Broker.Username, SensorsCommand.ReadPassword(config.Broker.PasswordFile), cancellationToken, SelftestCommand.Tls(config.Broker.Tls));
            var reports = await GatewayReports.ReadAsync(mqtt, config.GatewayId, wait, context.Time, cancellationToken);
            if (reports.Status is null)
            {
                connection = connectionText = "unknown: the gateway never reported a status";
                centre = new JsonObject { ["state"] = "unknown" };
            }
            else
            {
                var (state, since) = Describe(reports.Status.Payload);
                connection = since is { } at ? $"{state} since {Iso(at)}" : state;
                connectionText = since is { } t ? $"{state} since {HumanTime.Local(t, zone)} ({HumanTime.Duration(now - t)})" : state;
                centre = new JsonObject { ["state"] = state, ["since"] = since is { } s1 ? Iso(s1) : null, ["sinceSeconds"] = since is { } s2 ? (long)(now - s2).TotalSeconds : null };
            }

            foreach (var (id, report) in reports.Sensors)
            {
                sensors[id] = report;
            }
        }
        catch (CliException ex)
        {
            connection = connectionText = $"cannot reach the centre's broker from here: {ex.Message}";
            centre = new JsonObject { ["state"] = "unreachable" };
        }

        var rows = config.Sensors.Select(s =>
        {
            var st = sensors.GetValueOrDefault(s.Id);
            string? Str(string p) => st.ValueKind == JsonValueKind.Object && st.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
            int? Num(string p) => st.ValueKind == JsonValueKind.Object && st.TryGetProperty(p, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : null;
            bool? Bool(string p) => st.ValueKind == JsonValueKind.Object && st.TryGetProperty(p, out var v) && v.ValueKind is JsonValueKind.True or JsonValueKind.False ? v.GetBoolean() : null;
            return new JsonObject
            {
                ["id"] = s.Id,
                ["kind"] = Sensors.SensorKinds.Name(s.Kind),
                ["room"] = s.Room,
                ["state"] = Str("state") ?? "no report",
                ["online"] = Bool("online"),
                ["offlineReason"] = Str("offlineReason"),
                ["lastSeen"] = Time(Str("lastSeen")) is { } seen ? Iso(seen) : Str("lastSeen"),
                ["lastSeenSecondsAgo"] = Time(Str("lastSeen")) is { } ago ? (long)(now - ago).TotalSeconds : null,
                ["batteryPercent"] = Num("batteryPercent"),
                ["batteryLow"] = Bool("batteryLow"),
                ["linkQuality"] = Num("linkQuality"),
            };
        }).ToList();

        if (context.Json)
        {
            context.WriteJson(new JsonObject
            {
                ["ok"] = true,
                ["gatewayId"] = config.GatewayId,
                ["connection"] = connection,
                ["centre"] = centre,
                ["outbox"] = outbox,
                ["sensors"] = new JsonArray([.. rows]),
            });
            return ExitCodes.Ok;
        }

        context.Console.MarkupLine($"Gateway [bold]{Markup.Escape(config.GatewayId)}[/], centre connection: {Markup.Escape(connectionText)}");
        context.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"Outbox: {outbox["pending"]} pending{(outbox["oldestPendingSeconds"] is { } age ? $", oldest {HumanTime.Duration(TimeSpan.FromSeconds((long)age))} old" : string.Empty)}, last seq {outbox["lastSeq"]}"));
        var table = new Table().AddColumn("Sensor").AddColumn("Room").AddColumn("State").AddColumn("Online").AddColumn("Battery").AddColumn("Link").AddColumn("Last seen");
        foreach (var r in rows)
        {
            table.AddRow(
                Markup.Escape((string)r["id"]!),
                Markup.Escape((string)r["room"]!),
                Markup.Escape((string)r["state"]!),
                r["online"] is null ? "?" : (bool)r["online"]! ? "[green]yes[/]" : $"[red]no ({Markup.Escape((string?)r["offlineReason"] ?? "?")})[/]",
                r["batteryPercent"] is null ? "-" : $"{(r["batteryLow"] is { } low && (bool)low ? "[red]" : "[green]")}{r["batteryPercent"]} %[/]",
                r["linkQuality"]?.ToString() ?? "-",
                Markup.Escape(Time((string?)r["lastSeen"]) is { } seen ? $"{HumanTime.Local(seen, zone)} ({HumanTime.Duration(now - seen)} ago)" : (string?)r["lastSeen"] ?? "-"));
        }

        context.Console.Write(table);
        return ExitCodes.Ok;
    }

    /// <summary>The status's state and, when it says, since when (unreadable status: state "unreadable status").</summary>
    private static (string State, DateTimeOffset? Since) Describe(byte[] payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            var root = doc.RootElement;
            var state = root.TryGetProperty("state", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() ?? "?" : "?";
            var since = root.TryGetProperty("since", out var t) && t.ValueKind == JsonValueKind.String ? Time(t.GetString()) : null;
            return (state, since);
        }
        catch (JsonException)
        {
            return ("unreadable status", null);
        }
    }

    private static DateTimeOffset? Time(string? iso) =>
        iso is not null && DateTimeOffset.TryParse(iso, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var at) ? at : null;

    /// <summary>ISO 8601 in UTC, as scripts read it (<c>--json</c>).</summary>
    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);
}
