using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using CareGateway.Core;
using CareGateway.Protocol;
using CareGateway.Sensors;

namespace CareGateway;

/// <summary>One recorded input: a sensor event, or an away/home command.</summary>
public sealed record ReplayInput(DateTimeOffset At, SensorEvent? Event, bool? Away, int Line);

/// <summary>What a replay found: the alarms in the order the engine returned them, and the near misses in time order.</summary>
public sealed record ReplayOutcome(List<AlarmRequest> Alarms, List<NearMiss> NearMisses);

/// <summary>A recording that cannot be read; the message names the file and line.</summary>
public sealed class ReplayFormatException(string message) : Exception(message);

/// <summary>The profile of a replay: the care profile and the home's sensors (or a whole gateway configuration).</summary>
public sealed record ReplayProfileFile
{
    public CareProfileConfig CareProfile { get; set; } = new();

    public List<SensorDefinition> Sensors { get; set; } = [];
}

/// <summary>
/// Runs the rules over a recording, as fast as it can, on the recording's own timestamps: what the profile would have
/// raised, when and why. Deterministic: the same profile and recording always give the same alarms.
/// </summary>
public static class Replay
{
    /// <summary>The alarms the engine returns, in order (held pre-alarms appear when sent or cancelled).</summary>
    public static List<AlarmRequest> Run(CareProfile profile, IReadOnlyList<SensorDefinition> sensors, IEnumerable<ReplayInput> inputs, DateTimeOffset? until = null) =>
        Evaluate(profile, sensors, inputs, until).Alarms;

    /// <summary>The alarms the engine returns, in order, and the near misses it observed (<see cref="RuleEngine.TakeNearMisses"/>).</summary>
    public static ReplayOutcome Evaluate(CareProfile profile, IReadOnlyList<SensorDefinition> sensors, IEnumerable<ReplayInput> inputs, DateTimeOffset? until = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var engine = new RuleEngine(profile, sensors);
        var alarms = new List<AlarmRequest>();
        var nearMisses = new List<NearMiss>();
        DateTimeOffset? last = null;
        foreach (var input in inputs)
        {
            RunTimers(engine, input.At, inclusive: false, alarms);
            alarms.AddRange(input switch
            {
                { Event: { } e } => engine.OnEvent(e),
                { Away: { } away } => engine.SetAway(away, input.At, "command"),
                _ => engine.OnTime(input.At),
            });
            last = input.At;
            nearMisses.AddRange(engine.TakeNearMisses());
        }

        if ((until ?? last) is { } end)
        {
            RunTimers(engine, end, inclusive: true, alarms);
        }

        nearMisses.AddRange(engine.TakeNearMisses());
        return new ReplayOutcome(alarms, nearMisses);
    }

    private static void RunTimers(RuleEngine engine, DateTimeOffset upTo, bool inclusive, List<AlarmRequest> alarms)
    {
        while (engine.NextDue is { } due && (due < upTo || (inclusive && due == upTo)))
        {
            alarms.AddRange(engine.OnTime(due));
        }
    }

    /// <summary>
    /// Reads a profile: a gateway configuration, a file <c>{ "careProfile": ..., "sensors": [...] }</c>, or a care profile
    /// alone (the same document as the configuration's <c>careProfile</c> section), whose sensors then come from the
    /// gateway configuration at <paramref name="sensorsFrom"/>.
    /// </summary>
    public static (CareProfile Profile, IReadOnlyList<SensorDefinition> Sensors) LoadProfile(string path, string? sensorsFrom = null)
    {
        var text = File.ReadAllText(path);
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException)
        {
            node = null; // the readers below name the syntax error with its line
        }

        if (node is JsonObject o && o.ContainsKey("gatewayId"))
        {
            var config = ConfigLoader.Parse(text, path);
            return (ConfigLoader.ToProfile(config.CareProfile), config.Sensors);
        }

        if (node is JsonObject bare && !bare.ContainsKey("careProfile") && !bare.ContainsKey("sensors"))
        {
            var (profile, profileErrors) = FileCareProfileStore.Parse(System.Text.Encoding.UTF8.GetBytes(text));
            if (profile is null || profileErrors.Count > 0)
            {
                throw new ConfigException(path, profileErrors);
            }

            if (sensorsFrom is null || !File.Exists(sensorsFrom))
            {
                throw new ConfigException(path, [$"$: this is a care profile alone, which names no sensors; give the gateway configuration that has them with --config FILE{(sensorsFrom is null ? "" : $" ({sensorsFrom} does not exist)")}, or put both in one file: {{ \"careProfile\": ..., \"sensors\": [...] }}"]);
            }

            return (ConfigLoader.ToProfile(profile), ConfigLoader.Parse(File.ReadAllText(sensorsFrom), sensorsFrom).Sensors);
        }

        ReplayProfileFile? file;
        try
        {
            file = JsonSerializer.Deserialize(text, ReplayJsonContext.Default.ReplayProfileFile);
        }
        catch (JsonException ex)
        {
            throw new ConfigException(path, [$"{ex.Path ?? "$"}: {ex.Message.Split(" Path:")[0]}"]);
        }

        if (file is null)
        {
            throw new ConfigException(path, ["$: the file holds JSON null, not a profile"]);
        }

        var errors = new List<string>();
        CareProfileValidation.Validate(file.CareProfile, errors);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < file.Sensors.Count; i++)
        {
            if (!ids.Add(file.Sensors[i].Id))
            {
                errors.Add($"$.sensors[{i}].id: '{file.Sensors[i].Id}' is used twice");
            }
        }

        return errors.Count > 0 ? throw new ConfigException(path, errors) : (CareProfileValidation.ToProfile(file.CareProfile), file.Sensors);
    }

    /// <summary>
    /// Reads a recording: normalized events, one JSON object a line, or a <c>mosquitto_sub -v</c> log of zigbee2mqtt
    /// messages with a timestamp in front (<c>-F '%I %t %p'</c>). Blank lines and lines starting with # are skipped.
    /// </summary>
    public static List<ReplayInput> ReadEvents(TextReader reader, string source, IReadOnlyList<SensorDefinition> sensors)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var byId = sensors.ToDictionary(s => s.Id, StringComparer.Ordinal);
        var z2m = new Zigbee2MqttLog(byId);
        var inputs = new List<ReplayInput>();
        var lineNo = 0;
        DateTimeOffset? previous = null;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            var trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed.StartsWith('#'))
            {
                continue;
            }

            try
            {
                var read = trimmed.StartsWith('{') ? [Normalized(trimmed, byId, lineNo)] : z2m.Read(trimmed, lineNo);
                foreach (var input in read)
                {
                    if (previous is { } p && input.At < p)
                    {
                        throw new ReplayFormatException($"time {input.At:O} is before the previous line's {p:O}; a recording must be in time order");
                    }

                    previous = input.At;
                    inputs.Add(input);
                }
            }
            catch (Exception ex) when (ex is ReplayFormatException or JsonException or FormatException or InvalidOperationException)
            {
                throw new ReplayFormatException($"{source} line {lineNo}: {ex.Message.Split(" Path:")[0]}");
            }
        }

        return inputs;
    }

    private static ReplayInput Normalized(string line, Dictionary<string, SensorDefinition> sensors, int lineNo)
    {
        var e = JsonSerializer.Deserialize(line, ReplayJsonContext.Default.RecordedEvent) ?? throw new ReplayFormatException("null is not an event");
        if (e.Command is { } command)
        {
            return command switch
            {
                "away" => new ReplayInput(e.At, null, true, lineNo),
                "home" => new ReplayInput(e.At, null, false, lineNo),
                _ => throw new ReplayFormatException($"command '{command}' is not known: use 'away' or 'home'"),
            };
        }

        if (e.Sensor is null)
        {
            throw new ReplayFormatException("an event needs 'sensor' (or 'command')");
        }

        if (!sensors.TryGetValue(e.Sensor, out var sensor))
        {
            throw new ReplayFormatException($"sensor '{e.Sensor}' is not in the profile's sensors");
        }

        if (e.Active is null && e.Health is null)
        {
            throw new ReplayFormatException($"event of sensor '{e.Sensor}' has neither 'active' nor 'health'");
        }

        return new ReplayInput(e.At, new SensorEvent(sensor.Id, sensor.Kind, sensor.Room, e.Active ?? false, e.At, e.Health), null, lineNo);
    }

    /// <summary>
    /// Prints the alarms as a table a nurse can read (local time, type, state, sensor, room and reason) and their count,
    /// then the near misses in words, and the alarms and near misses of each rule per night.
    /// </summary>
    public static void Print(TextWriter output, CareProfile profile, IReadOnlyList<ReplayInput> inputs, IReadOnlyList<AlarmRequest> alarms, IReadOnlyList<NearMiss>? nearMisses = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(profile);
        var zone = profile.ResolveTimeZone();
        string Local(DateTimeOffset t) => HumanTime.Local(t, zone);
        var span = inputs.Count > 0 ? $"from {Local(inputs[0].At)} to {Local(inputs[^1].At)}" : "(empty recording)";
        output.WriteLine($"Replay of {inputs.Count} recorded inputs {span}; local time is {profile.TimeZone}.");
        // In order of when the condition was met (a held pre-alarm is sent later, but belongs at its time).
        foreach (var a in alarms.OrderBy(a => a.At))
        {
            output.WriteLine(Line(a, zone));
        }

        var byType = string.Join(", ", alarms.GroupBy(a => a.Type).Select(g => $"{g.Count()} {g.Key}"));
        output.WriteLine(alarms.Count == 0 ? "No alarms." : $"{alarms.Count} alarms: {byType}.");
        if (nearMisses is null)
        {
            return;
        }

        output.WriteLine();
        var pct = (RuleEngine.NearMissFraction * 100).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
        output.WriteLine(nearMisses.Count == 0
            ? $"No near misses (a timed rule ended within the last {pct} % of its limit)."
            : $"{nearMisses.Count} near misses (a timed rule ended within the last {pct} % of its limit):");
        foreach (var m in nearMisses)
        {
            output.WriteLine($"{Local(m.At)}  {m.Describe()} ({m.SensorId ?? "no sensor"}{(m.Room is null ? "" : $", {m.Room}")})");
        }

        output.WriteLine();
        ReplayNights.Print(output, ReplayNights.Count(zone, inputs, alarms, nearMisses), ReplayNights.Rules(alarms, nearMisses));
    }

    /// <summary>One alarm as a line of the table: local time, type and state, sensor, room, reason.</summary>
    public static string Line(AlarmRequest a, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(a);
        var state = a.State == AlarmState.Cancelled ? " (cancelled)" : string.Empty;
        return $"{HumanTime.Local(a.At, zone)}  {a.Type + state,-24} {a.SensorId ?? "-",-14} {a.Room ?? "-",-10} {a.Reason}";
    }
}

/// <summary>The replay as one JSON document (<c>replay --json</c>): times ISO 8601 with the profile's local offset.</summary>
public static class ReplayJson
{
    // Relaxed escaping: a time's "+01:00" stays readable (the output is a file or a pipe, never HTML).
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Write(TextWriter output, CareProfile profile, IReadOnlyList<ReplayInput> inputs, IReadOnlyList<AlarmRequest> alarms, IReadOnlyList<NearMiss>? nearMisses = null, (string Other, ReplayComparison Comparison)? compare = null)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(profile);
        var zone = profile.ResolveTimeZone();
        nearMisses ??= [];
        string Iso(DateTimeOffset t) => TimeZoneInfo.ConvertTime(t, zone).ToString("yyyy-MM-ddTHH:mm:sszzz", System.Globalization.CultureInfo.InvariantCulture);
        JsonObject Alarm(AlarmRequest a) => new()
        {
            ["at"] = Iso(a.At),
            ["type"] = a.Type,
            ["cancelled"] = a.State == AlarmState.Cancelled,
            ["sensor"] = a.SensorId,
            ["room"] = a.Room,
            ["reason"] = a.Reason,
        };
        JsonArray Alarms(IEnumerable<AlarmRequest> list) => [.. list.OrderBy(a => a.At).Select(a => (JsonNode)Alarm(a))];
        JsonObject Counts(IReadOnlyDictionary<string, int> counts) => new(counts.Select(c => KeyValuePair.Create(c.Key, (JsonNode?)c.Value)));
        var list = Alarms(alarms);
        var misses = new JsonArray();
        foreach (var m in nearMisses)
        {
            misses.Add((JsonNode)new JsonObject
            {
                ["at"] = Iso(m.At),
                ["type"] = m.Type,
                ["sensor"] = m.SensorId,
                ["room"] = m.Room,
                ["since"] = Iso(m.Since),
                ["elapsedSeconds"] = m.Elapsed.TotalSeconds,
                ["limitSeconds"] = m.Limit.TotalSeconds,
                ["shortSeconds"] = m.ShortBy.TotalSeconds,
                ["text"] = m.Describe(),
            });
        }

        var nights = new JsonArray();
        foreach (var n in ReplayNights.Count(zone, inputs, alarms, nearMisses))
        {
            nights.Add((JsonNode)new JsonObject
            {
                ["night"] = n.Night.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
                ["alarms"] = Counts(n.Alarms),
                ["nearMisses"] = Counts(n.NearMisses),
            });
        }

        var counts = new JsonObject();
        foreach (var g in alarms.GroupBy(a => a.Type))
        {
            counts[g.Key] = g.Count();
        }

        var doc = new JsonObject
        {
            ["timeZone"] = profile.TimeZone,
            ["inputs"] = inputs.Count,
            ["from"] = inputs.Count > 0 ? Iso(inputs[0].At) : null,
            ["to"] = inputs.Count > 0 ? Iso(inputs[^1].At) : null,
            ["alarms"] = list,
            ["countsByType"] = counts,
            ["nearMissFraction"] = RuleEngine.NearMissFraction,
            ["nearMisses"] = misses,
            ["nights"] = nights,
        };
        if (compare is { } c)
        {
            doc["compare"] = new JsonObject
            {
                ["other"] = c.Other,
                ["toleranceSeconds"] = ReplayComparison.Tolerance.TotalSeconds,
                ["onlyThis"] = Alarms(c.Comparison.OnlyThis),
                ["onlyOther"] = Alarms(c.Comparison.OnlyOther),
                ["cancelledInOne"] = new JsonArray([.. c.Comparison.StateDiffers.Select(d => (JsonNode)new JsonObject
                {
                    ["this"] = Alarm(d.This),
                    ["other"] = Alarm(d.Other),
                })]),
            };
        }

        output.WriteLine(doc.ToJsonString(Indented));
    }
}

/// <summary>One line of a normalized recording.</summary>
public sealed record RecordedEvent
{
    public DateTimeOffset At { get; set; }

    public string? Sensor { get; set; }

    public bool? Active { get; set; }

    public SensorHealth? Health { get; set; }

    /// <summary><c>away</c> or <c>home</c>: the away state set or ended by a command.</summary>
    public string? Command { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UseStringEnumConverter = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(ReplayProfileFile))]
[JsonSerializable(typeof(RecordedEvent))]
internal sealed partial class ReplayJsonContext : JsonSerializerContext;
