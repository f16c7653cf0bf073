using System.Text.Json;
using System.Text.Json.Nodes;
using CareGateway.Sensors;

namespace CareGateway.Tests.Zigbee;

/// <summary>One fixture of tests/fixtures/zigbee2mqtt: a device model, its exposes, the sensor declared on it, and messages with what each must yield.</summary>
public sealed record ZigbeeFixture(string File, string Vendor, string Model, string Ieee, string FriendlyName, SensorDefinition Sensor, JsonObject DeviceEntry, IReadOnlyList<(string Payload, string Expect)> Messages)
{
    public override string ToString() => File;
}

/// <summary>Loads the fixture corpus and builds what zigbee2mqtt would publish for it.</summary>
public static class ZigbeeCorpus
{
    private static readonly Lazy<IReadOnlyList<ZigbeeFixture>> Loaded = new(Load);

    public static IReadOnlyList<ZigbeeFixture> All => Loaded.Value;

    public static TheoryData<string> Files() => [.. All.Select(f => f.File)];

    public static ZigbeeFixture Get(string file) => All.Single(f => f.File == file);

    /// <summary>The retained <c>bridge/devices</c> payload for these fixtures (plus the coordinator, as zigbee2mqtt lists it).</summary>
    public static string DeviceList(IEnumerable<ZigbeeFixture> fixtures)
    {
        var array = new JsonArray { new JsonObject { ["ieee_address"] = "0x00124b0000000000", ["friendly_name"] = "Coordinator", ["type"] = "Coordinator" } };
        foreach (var f in fixtures)
        {
            array.Add(f.DeviceEntry.DeepClone());
        }

        return array.ToJsonString();
    }

    /// <summary>The measured value a message must carry (<c>value:21.5</c>); null when it expects none.</summary>
    public static double? ExpectedValue(string expect) =>
        expect.StartsWith("value:", StringComparison.Ordinal) ? double.Parse(expect["value:".Length..], System.Globalization.CultureInfo.InvariantCulture) : null;

    /// <summary>The events a message must yield for its sensor: (type, active) pairs.</summary>
    public static IEnumerable<(SensorEventType Type, bool? Active)> Expected(string expect) => expect switch
    {
        _ when expect.StartsWith("value:", StringComparison.Ordinal) => [(SensorEventType.State, false)],
        "state:true" => [(SensorEventType.State, true)],
        "state:false" => [(SensorEventType.State, false)],
        "heard" => [(SensorEventType.Heard, null)],
        "press" => [(SensorEventType.State, true), (SensorEventType.State, false)],
        _ => throw new InvalidOperationException($"unknown expectation '{expect}'"),
    };

    private static List<ZigbeeFixture> Load()
    {
        var dir = RepoFiles.PathOf("tests", "fixtures", "zigbee2mqtt");
        var kindOptions = new JsonSerializerOptions { Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } };
        var list = new List<ZigbeeFixture>();
        var i = 0;
        foreach (var path in Directory.GetFiles(dir, "*.json").Order(StringComparer.Ordinal))
        {
            var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            var sensor = node["sensor"]!.AsObject();
            var ieee = node["ieeeAddress"]!.GetValue<string>();
            var name = node["friendlyName"]!.GetValue<string>();
            var kind = JsonSerializer.Deserialize<SensorKind>(sensor["kind"]!.ToJsonString(), kindOptions);

            // Every third sensor is declared by IEEE address, the rest by friendly name: both must work.
            var declaredAs = i++ % 3 == 2 ? ieee : name;
            var definition = new SensorDefinition
            {
                Id = sensor["id"]!.GetValue<string>(),
                Kind = kind,
                Room = sensor["room"]!.GetValue<string>(),
                Zigbee = new ZigbeeSensorOptions { Device = declaredAs },
            };
            var entry = new JsonObject
            {
                ["ieee_address"] = ieee,
                ["friendly_name"] = name,
                ["type"] = "EndDevice",
                ["supported"] = true,
                ["interview_completed"] = true,
                ["definition"] = new JsonObject
                {
                    ["vendor"] = node["vendor"]!.GetValue<string>(),
                    ["model"] = node["model"]!.GetValue<string>(),
                    ["description"] = node["description"]!.GetValue<string>(),
                    ["exposes"] = node["exposes"]!.DeepClone(),
                },
            };
            var messages = node["messages"]!.AsArray()
                .Select(m => (m!["payload"]!.ToJsonString(), m["expect"]!.GetValue<string>()))
                .ToList();
            list.Add(new ZigbeeFixture(Path.GetFileName(path), node["vendor"]!.GetValue<string>(), node["model"]!.GetValue<string>(), ieee, name, definition, entry, messages));
        }

        return list;
    }
}
