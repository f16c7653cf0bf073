using CareGateway.Cli;
using System.Text.Json.Nodes;

namespace CareGateway.Tests;

/// <summary>
/// Issue 15: one care-profile shape everywhere. A profile file is the configuration's <c>careProfile</c> section alone,
/// comments and trailing commas allowed; a file that wraps it (the replay sample, a gateway configuration) is read for
/// its section with the same meaning.
/// </summary>
public sealed class ProfileShapeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Sample(string name) => RepoFiles.PathOf("docs", "examples", "replay", name);

    /// <summary>The sample's careProfile section alone, written as a bare profile file with a comment and a trailing comma.</summary>
    private string BareProfile()
    {
        var wrapped = JsonNode.Parse(File.ReadAllText(Sample("profile.json")), documentOptions: new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })!;
        var text = wrapped["careProfile"]!.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var path = _dir.File("profile.json");
        File.WriteAllText(path, "// the resident's rules\n" + text.TrimEnd()[..^1].TrimEnd() + ",\n}\n");
        return path;
    }

    /// <summary>A gateway configuration with the sample's sensors (each on Zigbee) and its profile.</summary>
    private string GatewayConfig()
    {
        var wrapped = JsonNode.Parse(File.ReadAllText(Sample("profile.json")), documentOptions: new System.Text.Json.JsonDocumentOptions { CommentHandling = System.Text.Json.JsonCommentHandling.Skip })!.AsObject();
        var sensors = new JsonArray();
        foreach (var s in wrapped["sensors"]!.AsArray())
        {
            var sensor = s!.DeepClone().AsObject();
            sensor["zigbee"] = new JsonObject { ["device"] = sensor["id"]!.GetValue<string>() };
            sensors.Add(sensor);
        }

        var config = new JsonObject
        {
            ["gatewayId"] = "gw-profile-shape",
            ["dataDirectory"] = _dir.File("data"),
            ["broker"] = new JsonObject { ["host"] = "127.0.0.1", ["port"] = 1883 },
            ["board"] = new JsonObject { ["driver"] = "simulated" },
            ["zigbee"] = new JsonObject { ["broker"] = new JsonObject { ["host"] = "127.0.0.1", ["port"] = 1883 } },
            ["sensors"] = sensors,
            ["careProfile"] = wrapped["careProfile"]!.DeepClone(),
        };
        var path = _dir.File("gateway.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    [Fact]
    public void A_bare_profile_and_the_same_section_in_a_wrapping_file_read_the_same()
    {
        var (bare, bareErrors) = FileCareProfileStore.ParseDocument(File.ReadAllBytes(BareProfile()));
        var (wrapped, wrappedErrors) = FileCareProfileStore.ParseDocument(File.ReadAllBytes(Sample("profile.json")));
        var inConfig = ConfigLoader.Parse(File.ReadAllText(GatewayConfig()), "gateway.json").CareProfile;

        Assert.Empty(bareErrors);
        Assert.Empty(wrappedErrors);
        static string Json(CareProfileConfig c) => System.Text.Json.JsonSerializer.Serialize(c, CareProfileJsonContext.Default.CareProfileConfig);
        Assert.Equal(Json(inConfig), Json(bare!));
        Assert.Equal(Json(inConfig), Json(wrapped!));
    }

    [Fact]
    public async Task Profile_validate_accepts_the_sample_with_its_comment_and_a_bare_profile_and_names_a_bad_value()
    {
        var config = GatewayConfig();
        Assert.Equal(0, await GatewayCommandLine.InvokeAsync(["profile", "validate", Sample("profile.json"), "--config", config]));
        Assert.Equal(0, await GatewayCommandLine.InvokeAsync(["profile", "validate", BareProfile(), "--config", config]));

        var bad = _dir.File("bad.json");
        File.WriteAllText(bad, "{ // too short\n \"wandering\": { \"graceMinutes\": -1 } }");
        Assert.Equal(2, await GatewayCommandLine.InvokeAsync(["profile", "validate", bad, "--config", config]));
    }

    [Fact]
    public async Task Replay_takes_a_bare_profile_with_the_sensors_of_the_configuration_and_raises_what_the_sample_does()
    {
        async Task<(int Code, string Output, string Error)> Run(string profile, string? config)
        {
            using var output = new StringWriter();
            using var error = new StringWriter();
            var code = await ReplayCommand.RunAsync(new FileInfo(profile), new FileInfo(Sample("week.jsonl")), null, output, error, config is null ? null : new FileInfo(config));
            return (code, output.ToString(), error.ToString());
        }

        var sample = await Run(Sample("profile.json"), null);
        var bare = await Run(BareProfile(), GatewayConfig());
        Assert.True(sample.Code == 0, sample.Error);
        Assert.True(bare.Code == 0, bare.Error);
        Assert.Equal(sample.Output, bare.Output);

        var alone = await Run(BareProfile(), _dir.File("no-such-config.json"));
        Assert.Equal(2, alone.Code);
        Assert.Contains("names no sensors", alone.Error, StringComparison.Ordinal);
        Assert.Contains("--config", alone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_json_gives_each_alarm_with_an_iso_time_in_local_offset_and_the_counts()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await ReplayCommand.RunAsync(new FileInfo(Sample("profile.json")), new FileInfo(Sample("week.jsonl")), null, output, error, null, json: true);

        Assert.True(code == 0, error.ToString());
        var doc = JsonNode.Parse(output.ToString())!;
        var alarms = doc["alarms"]!.AsArray();
        Assert.Equal(7, alarms.Count);
        Assert.Equal("2026-11-27T02:19:00+01:00", alarms[2]!["at"]!.GetValue<string>());
        Assert.Equal(("wandering", "door-front", false), (alarms[2]!["type"]!.GetValue<string>(), alarms[2]!["sensor"]!.GetValue<string>(), alarms[2]!["cancelled"]!.GetValue<bool>()));
        Assert.True(alarms[4]!["cancelled"]!.GetValue<bool>());
        Assert.Equal(3, doc["countsByType"]!["bed-exit"]!.GetValue<int>());
        Assert.Equal("Europe/Oslo", doc["timeZone"]!.GetValue<string>());
        Assert.Equal(DateTimeOffset.Parse(doc["from"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture).Offset, TimeSpan.FromHours(1));
    }
}
