using System.Text.Json;
using System.Text.Json.Nodes;
using System.Xml.Linq;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Fhir;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;
using Hl7.Fhir.Model;
using Hl7.Fhir.Validation;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// The record export against the published VKP 0.9.0 profiles, as far as they can be checked here: the JSON parses
/// strictly as FHIR R4 (Firely SDK), and every element the profiles require and every required binding they declare
/// (read from the StructureDefinitions, ValueSets and CodeSystems in response-centre/fhir/vkp-r4) is met.
/// </summary>
public sealed class FhirExportTests
{
    private static readonly XNamespace F = "http://hl7.org/fhir";
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 19, 0, TimeSpan.Zero);

    private static string Vkp(params string[] parts) => RepoFiles.PathOf(["response-centre", "fhir", "vkp-r4", .. parts]);

    internal static StoredAlarm Closed(string id, string type, string? note) => StoreContractTests.Alarm(id, type: type, raised: T0) with
    {
        AlarmId = id,
        Status = HandlingStatus.Closed,
        AcceptedAt = T0.AddSeconds(40),
        AcceptedBy = "operator-117",
        ClosedAt = T0.AddMinutes(6),
        ClosedBy = "operator-117",
        Note = note,
        Outcome = CloseOutcome.Handled,
    };

    internal static readonly Dictionary<string, GatewayRecord> Homes = new(StringComparer.Ordinal) { ["gw-0042"] = new GatewayRecord { GatewayId = "gw-0042", Label = "Kunde 1042" } };

    /// <summary>Codes of every CodeSystem in the folder, by system URL.</summary>
    private static Dictionary<string, Dictionary<string, string>> CodeSystems() =>
        Directory.GetFiles(Vkp("CodeSystem"), "*.xml").Select(XDocument.Load).ToDictionary(
            d => d.Root!.Element(F + "url")!.Attribute("value")!.Value,
            d => d.Root!.Descendants(F + "concept").ToDictionary(c => c.Element(F + "code")!.Attribute("value")!.Value, c => c.Element(F + "display")?.Attribute("value")?.Value ?? "", StringComparer.Ordinal),
            StringComparer.Ordinal);

    /// <summary>For each ValueSet URL, the allowed (system, code) pairs.</summary>
    private static Dictionary<string, HashSet<(string, string)>> ValueSets()
    {
        var systems = CodeSystems();
        return Directory.GetFiles(Vkp("ValueSet"), "*.xml").Select(XDocument.Load).ToDictionary(
            d => d.Root!.Element(F + "url")!.Attribute("value")!.Value,
            d => d.Root!.Element(F + "compose")!.Elements(F + "include").SelectMany(inc =>
            {
                var system = inc.Element(F + "system")!.Attribute("value")!.Value;
                var listed = inc.Elements(F + "concept").Select(c => c.Element(F + "code")!.Attribute("value")!.Value).ToList();
                return (listed.Count > 0 ? listed : systems[system].Keys.ToList()).Select(code => (system, code));
            }).ToHashSet(),
            StringComparer.Ordinal);
    }

    private sealed record ProfileRule(string Path, int Min, string? RequiredValueSet);

    private static (string Url, List<ProfileRule> Rules) Profile(string file)
    {
        var doc = XDocument.Load(Vkp("StructureDefinition", file));
        var rules = doc.Root!.Element(F + "differential")!.Elements(F + "element").Select(e => new ProfileRule(
            e.Element(F + "path")!.Attribute("value")!.Value,
            int.TryParse(e.Element(F + "min")?.Attribute("value")?.Value, out var min) ? min : 0,
            e.Element(F + "binding") is { } b && b.Element(F + "strength")?.Attribute("value")?.Value == "required" ? b.Element(F + "valueSet")?.Attribute("value")?.Value : null)).ToList();
        return (doc.Root!.Element(F + "url")!.Attribute("value")!.Value, rules);
    }

    /// <summary>All JSON nodes at a FHIR path such as <c>Encounter.participant.type</c> (arrays flattened).</summary>
    private static List<JsonNode> At(JsonNode resource, string path)
    {
        var nodes = new List<JsonNode> { resource };
        foreach (var step in path.Split('.').Skip(1))
        {
            nodes = nodes.SelectMany(n => n[step] switch
            {
                JsonArray a => a.OfType<JsonNode>(),
                JsonNode v => [v],
                null => [],
            }).ToList();
        }

        return nodes;
    }

    private static void AssertConformsToVkp(JsonNode resource, string profileFile)
    {
        var (url, rules) = Profile(profileFile);
        var type = resource["resourceType"]!.GetValue<string>();
        Assert.Contains(url, resource["meta"]!["profile"]!.AsArray().Select(p => p!.GetValue<string>()));
        var valueSets = ValueSets();
        foreach (var rule in rules.Where(r => r.Path.Contains('.', StringComparison.Ordinal)))
        {
            // Only check an element whose parent is present (a required child of an absent optional parent is fine).
            var parent = rule.Path[..rule.Path.LastIndexOf('.')];
            var parents = parent.Contains('.', StringComparison.Ordinal) ? At(resource, parent) : [resource];
            var values = At(resource, rule.Path);
            if (rule.Min > 0 && parents.Count > 0)
            {
                Assert.True(values.Count >= rule.Min, $"{type}: {rule.Path} is required by {url}");
            }

            if (rule.RequiredValueSet is { } vs)
            {
                var allowed = valueSets[vs];
                foreach (var value in values)
                {
                    var codings = value["coding"] is JsonArray c ? c.OfType<JsonNode>().ToList() : [value];
                    Assert.True(
                        codings.Any(cd => allowed.Contains((cd["system"]?.GetValue<string>() ?? "", cd["code"]?.GetValue<string>() ?? ""))),
                        $"{type}: {rule.Path} = {value.ToJsonString()} is not in the required value set {vs}");
                }
            }
        }
    }

    [Fact]
    public void Every_alarm_types_vkp_code_and_display_and_every_triage_level_exist_in_the_published_code_systems()
    {
        var systems = CodeSystems();
        foreach (var info in AlarmCatalog.All)
        {
            Assert.True(systems[AlarmCatalog.VkpAlertCodeSystem].TryGetValue(info.VkpCode, out var display), $"{info.Type}: VKP code {info.VkpCode} is not in the code system");
            Assert.Equal(display, info.VkpDisplay);
            Assert.Contains(info.Triage, systems[AlarmCatalog.VkpTriageCodeSystem].Keys);
        }
    }

    /// <summary>Issue 19 finding 13: a gateway's vkpCode went into the record even when it contradicted the alarm type.</summary>
    [Fact]
    public void The_vkp_code_in_the_record_comes_from_the_alarm_type_not_from_what_the_gateway_sent()
    {
        // A row stored before the intake took the code from the catalogue: a fall the gateway had coded as smoke.
        var alarm = Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f14", AlarmType.Fall, null) with { VkpCode = AlarmCatalog.Get(AlarmType.Smoke).VkpCode };
        var issue = Assert.IsType<DetectedIssue>(FhirExport.ForAlarm(alarm, null, "centre-oslo").First().Resource);
        var fall = AlarmCatalog.Get(AlarmType.Fall);
        Assert.Equal((fall.VkpCode, fall.VkpDisplay), (issue.Code!.Coding[0].Code, issue.Code.Coding[0].Display));
    }

    [Fact]
    public void Two_homes_that_sent_the_same_alarm_id_never_share_a_resource()
    {
        var mine = Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12", AlarmType.Fall, null);
        var theirs = mine with { GatewayId = "gw-0666" };
        var bundle = Assert.IsType<Bundle>(FhirExport.Build([mine, theirs], Homes, "centre-oslo", T0.AddHours(1)));
        Assert.Equal(bundle.Entry.Count, bundle.Entry.Select(e => e.FullUrl).Distinct().Count());
        var alone = FhirExport.ForAlarm(mine, null, "centre-oslo").Select(e => e.FullUrl);
        Assert.Equal(alone, FhirExport.ForAlarm(mine, null, "centre-oslo").Select(e => e.FullUrl)); // stable between exports
        Assert.Empty(alone.Intersect(FhirExport.ForAlarm(theirs, null, "centre-oslo").Select(e => e.FullUrl)));
    }

    [Fact]
    public void Closed_alarms_export_as_a_bundle_of_detected_issue_encounter_and_composition_that_meet_the_vkp_profiles()
    {
        var alarms = new[] { Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12", AlarmType.Wandering, "Ringte. Beboer var på vei hjem, <ok> & trygg."), Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f13", AlarmType.Fall, null) };
        var json = FhirExport.ToJson(FhirExport.Build(alarms, Homes, "centre-oslo", T0.AddHours(1)));

        // Strict FHIR R4 parsing (unknown elements, wrong types and bad choice types would throw) and the SDK's own
        // cardinality and value checks.
        var parsed = JsonSerializer.Deserialize<Resource>(json, FhirExport.JsonOptions);
        var bundle = Assert.IsType<Bundle>(parsed);
        var problems = bundle.Validate().ToList();
        Assert.True(problems.Count == 0, string.Join("; ", problems));
        Assert.Equal(Bundle.BundleType.Collection, bundle.Type);
        Assert.Equal(["DetectedIssue", "Encounter", "Composition", "DetectedIssue", "Encounter"], bundle.Entry.Select(e => e.Resource!.TypeName));
        Assert.All(bundle.Entry, e => Assert.StartsWith("urn:uuid:", e.FullUrl, StringComparison.Ordinal));
        Assert.Equal(bundle.Entry.Count, bundle.Entry.Select(e => e.FullUrl).Distinct().Count());

        var issue = Assert.IsType<DetectedIssue>(bundle.Entry[0].Resource);
        Assert.Equal((AlarmCatalog.VkpAlertCodeSystem, "4.21", "Forlatt bolig"), (issue.Code!.Coding[0].System, issue.Code.Coding[0].Code, issue.Code.Coding[0].Display));
        Assert.Equal((AlarmCatalog.VkpTriageCodeSystem, "O"), (issue.Evidence[0].Code[0].Coding[0].System, issue.Evidence[0].Code[0].Coding[0].Code));
        Assert.Equal("urn:uuid:019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12", issue.Identifier[0].Value);
        Assert.Equal((FhirExport.HomeIdentifierSystem, "gw-0042"), (issue.Patient!.Identifier!.System, issue.Patient.Identifier.Value));
        var composition = Assert.IsType<Composition>(bundle.Entry[2].Resource);
        Assert.Contains("&lt;ok&gt; &amp; trygg", composition.Section[0].Text!.Div, StringComparison.Ordinal);

        var root = JsonNode.Parse(json)!;
        foreach (var entry in root["entry"]!.AsArray())
        {
            var resource = entry!["resource"]!;
            switch (resource["resourceType"]!.GetValue<string>())
            {
                case "DetectedIssue":
                    AssertConformsToVkp(resource, "vkp-DetectedIssue-v090.structuredefinition-profile.xml");
                    break;
                case "Encounter":
                    AssertConformsToVkp(resource, "vkp-Encounter-v090.StructureDefinition-profile.xml");
                    break;
                case "Composition":
                    AssertConformsToVkp(resource, "vkp-Composition-v090.structuredefinition-profile.xml");
                    break;
                default:
                    Assert.Fail("unexpected resource " + resource["resourceType"]);
                    break;
            }
        }
    }

    [Fact]
    public void The_profile_check_catches_a_missing_required_element_and_a_code_outside_its_value_set()
    {
        var json = FhirExport.ToJson(FhirExport.Build([Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12", AlarmType.Fall, null)], Homes, "c", T0));
        var encounter = JsonNode.Parse(json)!["entry"]![1]!["resource"]!;
        encounter.AsObject().Remove("period");
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertConformsToVkp(encounter, "vkp-Encounter-v090.StructureDefinition-profile.xml"));

        var issue = JsonNode.Parse(json)!["entry"]![0]!["resource"]!;
        issue["code"]!["coding"]![0]!["code"] = "9.99";
        Assert.ThrowsAny<Xunit.Sdk.XunitException>(() => AssertConformsToVkp(issue, "vkp-DetectedIssue-v090.structuredefinition-profile.xml"));
    }

    [Fact]
    public void The_export_is_stable_so_the_hub_can_recognise_a_resent_alarm()
    {
        var alarm = Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12", AlarmType.Panic, "note");
        Assert.Equal(FhirExport.ToJson(FhirExport.Build([alarm], Homes, "c", T0)), FhirExport.ToJson(FhirExport.Build([alarm], Homes, "c", T0)));
    }

    [Fact]
    public void Only_closed_care_alarms_are_journaled()
    {
        Assert.True(FhirExport.IsExportable(Closed("a", AlarmType.Fall, null)));
        Assert.False(FhirExport.IsExportable(Closed("b", AlarmType.Test, null)));
        Assert.False(FhirExport.IsExportable(Closed("c", AlarmType.LowBattery, null)));
        Assert.False(FhirExport.IsExportable(Closed("d", AlarmType.Fall, null) with { State = AlarmState.Cancelled }));
        Assert.False(FhirExport.IsExportable(Closed("e", AlarmType.Fall, null) with { Status = HandlingStatus.Accepted }));
        Assert.False(FhirExport.IsExportable(Closed("f", AlarmType.Fall, null) with { Origin = AlarmOrigin.Centre }));
        Assert.Throws<ArgumentException>(() => FhirExport.Build([Closed("g", AlarmType.Test, null)], Homes, "c", T0));
    }
}
