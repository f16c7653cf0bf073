using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Fhir;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.Tests;
using Firely.Fhir.Validation;
using Hl7.Fhir.Model;
using Hl7.Fhir.Specification.Source;
using Hl7.Fhir.Specification.Terminology;
using Xunit.Abstractions;

namespace CareGateway.ResponseCentre.Tests;

/// <summary>
/// The record export through Firely's profile validator, against the VKP 0.9.0 profiles (response-centre/fhir/vkp-r4)
/// and the Norwegian base profiles they build on (response-centre/fhir/no-basis-r4), with the R4 core specification
/// from Hl7.Fhir.Specification.R4 for everything else. The validator is the one a receiving system runs; the hand
/// check in <see cref="FhirExportTests"/> stays as a readable statement of what the profiles require.
/// </summary>
public sealed class FhirValidationTests(ITestOutputHelper output)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 24, 1, 19, 0, TimeSpan.Zero);

    private static readonly Lazy<Validator> Shared = new(() =>
    {
        var local = new MultiResolver(
            new DirectorySource(RepoFiles.PathOf(["response-centre", "fhir", "vkp-r4"]), new DirectorySourceSettings { IncludeSubDirectories = true }),
            new DirectorySource(RepoFiles.PathOf(["response-centre", "fhir", "no-basis-r4"]), new DirectorySourceSettings { IncludeSubDirectories = true }));
        // The published profiles carry only a differential: SnapshotSource expands them on their bases when first asked.
        var resolver = new CachedResolver(new SnapshotSource(new MultiResolver(local, ZipSource.CreateValidationSource())));
        return new Validator(resolver.AsAsync(), new LocalTerminologyService(resolver.AsAsync()));
    });

    /// <summary>The validator's snapshot generator is not thread-safe: test classes that run in parallel (the VKP sender's) take turns.</summary>
    private static readonly Lock ValidatorGate = new();

    internal static IReadOnlyList<OperationOutcome.IssueComponent> Validate(Resource resource, string? profile = null)
    {
        lock (ValidatorGate)
        {
            var outcome = Shared.Value.Validate(resource, profile);
            return outcome.Issue;
        }
    }

    private static string Describe(IEnumerable<OperationOutcome.IssueComponent> issues) =>
        string.Join(Environment.NewLine, issues.Select(i => $"{i.Severity}: {i.Details?.Text} at {string.Join(",", i.Expression ?? [])}"));

    private static IEnumerable<OperationOutcome.IssueComponent> Errors(IEnumerable<OperationOutcome.IssueComponent> issues) =>
        issues.Where(i => i.Severity is OperationOutcome.IssueSeverity.Error or OperationOutcome.IssueSeverity.Fatal);

    /// <summary>A closed alarm as <see cref="FhirExportTests"/> makes them, with a room so the Encounter has a location.</summary>
    private static StoredAlarm Closed(string id, string type, string? note) => FhirExportTests.Closed(id, type, note) with { Room = "bedroom" };

    private static Dictionary<string, GatewayRecord> Homes => FhirExportTests.Homes;

    /// <summary>The home's resident record: a synthetic national identity number (Test-Norge style, month + 80) with valid check digits.</summary>
    internal static readonly Dictionary<string, CareGateway.ResponseCentre.Service.Homes.HomeRecord> Residents = new(StringComparer.Ordinal)
    {
        ["gw-0042"] = new()
        {
            Residents = [new() { Name = "Kari Nordmann", NationalId = "01814040069", Language = "nb" }],
            Street = "Storgata 1", PostalCode = "0155", City = "Oslo", KeySafe = "Nøkkelboks ved inngangsdøra, kode 4321",
            Contacts = [new() { Name = "Ola Nordmann", Kind = "relative", Phone = "+47 900 00 000" }],
        },
    };

    [Fact]
    public void Every_exported_resource_validates_against_its_vkp_profile_with_no_errors_and_carries_a_narrative()
    {
        var alarms = AlarmCatalog.All.Where(i => !i.Technical && i.Type != AlarmType.Test)
            .Select((info, n) => Closed($"019ab3c4-5d60-7e21-9f3a-2b4c6d8e{n:x4}", info.Type, n % 2 == 0 ? "Ringte beboer. <Alt i orden> & trygg." : null))
            .Where(FhirExport.IsExportable)
            .ToList();
        Assert.NotEmpty(alarms);
        var bundle = Assert.IsType<Bundle>(FhirExport.Build(alarms, Homes, "centre-oslo", T0.AddHours(1), residents: Residents));

        var all = Validate(bundle);
        output.WriteLine(Describe(all));
        Assert.True(!Errors(all).Any(), Describe(Errors(all)));
        foreach (var entry in bundle.Entry)
        {
            var resource = Assert.IsAssignableFrom<DomainResource>(entry.Resource);
            Assert.True(resource.Text?.Div is { Length: > 0 }, $"{resource.TypeName} {entry.FullUrl} has no narrative");
            Assert.Equal(Narrative.NarrativeStatus.Generated, resource.Text!.Status);
            // The bundle's validation checked each entry against the profile it claims.
            Assert.Contains(Assert.Single(resource.Meta!.Profile), new[] { FhirExport.DetectedIssueProfile, FhirExport.EncounterProfile, FhirExport.CompositionProfile, FhirExport.PatientProfile });
        }

        // The patient is the resident, once, by national identity number; the key safe and contacts stay at the centre.
        var patient = Assert.IsType<Patient>(Assert.Single(bundle.Entry, e => e.Resource is Patient).Resource);
        Assert.Equal((FhirExport.FnrSystem, "01814040069"), (patient.Identifier[0].System, patient.Identifier[0].Value));
        Assert.Equal("Kari Nordmann", patient.Name[0].Text);
        var patientUrl = bundle.Entry.Single(e => e.Resource is Patient).FullUrl;
        Assert.All(bundle.Entry.Select(e => e.Resource).OfType<DetectedIssue>(), i => Assert.Equal(patientUrl, i.Patient?.Reference));
        var json = FhirExport.ToJson(bundle);
        Assert.DoesNotContain("4321", json, StringComparison.Ordinal);
        Assert.DoesNotContain("Ola Nordmann", json, StringComparison.Ordinal);
    }

    [Fact]
    public void The_senders_transaction_creates_the_resident_once_by_national_identity_number_and_validates()
    {
        var alarm = Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f15", AlarmType.Fall, null);
        var bundle = FhirExport.Transaction(alarm, Homes["gw-0042"], "centre-oslo", T0.AddHours(1), record: Residents["gw-0042"]);

        var patient = Assert.Single(bundle.Entry, e => e.Resource is Patient);
        Assert.Equal($"identifier={FhirExport.FnrSystem}|01814040069", patient.Request?.IfNoneExist);
        Assert.Equal(patient.FullUrl, bundle.Entry.Select(e => e.Resource).OfType<DetectedIssue>().Single().Patient?.Reference);
        Assert.True(!Errors(Validate(bundle)).Any(), Describe(Errors(Validate(bundle))));

        // Without a national identity number there is nothing to match on: the home by its gateway id, no Patient.
        var nameOnly = new CareGateway.ResponseCentre.Service.Homes.HomeRecord { Residents = [new() { Name = "Kari Nordmann" }] };
        Assert.DoesNotContain(FhirExport.Transaction(alarm, Homes["gw-0042"], "c", T0, record: nameOnly).Entry, e => e.Resource is Patient);
    }

    [Fact]
    public void A_d_number_goes_out_in_its_own_system_and_a_home_without_a_record_is_its_gateway_id()
    {
        var alarm = Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f14", AlarmType.Fall, null);
        var dnr = new Dictionary<string, CareGateway.ResponseCentre.Service.Homes.HomeRecord>(StringComparer.Ordinal)
        {
            ["gw-0042"] = new() { Residents = [new() { Name = "Jan Kowalski", NationalId = "41054250051" }] },
        };
        Assert.Null(CareGateway.ResponseCentre.Service.Homes.HomeForm.NationalIdProblem("41054250051"));
        var withDnr = Assert.IsType<Bundle>(FhirExport.Build([alarm], Homes, "c", T0, residents: dnr));
        Assert.Equal(FhirExport.DnrSystem, withDnr.Entry.Select(e => e.Resource).OfType<Patient>().Single().Identifier[0].System);
        Assert.True(!Errors(Validate(withDnr)).Any(), Describe(Errors(Validate(withDnr))));

        var withoutRecord = Assert.IsType<Bundle>(FhirExport.Build([alarm], Homes, "c", T0));
        Assert.DoesNotContain(withoutRecord.Entry, e => e.Resource is Patient);
        Assert.Equal(FhirExport.HomeIdentifierSystem, withoutRecord.Entry.Select(e => e.Resource).OfType<DetectedIssue>().Single().Patient?.Identifier?.System);
    }

    /// <summary>Issue 18: the handling (calls, the team sent, its time in the home) is in the Encounter, which still validates.</summary>
    [Fact]
    public void Handling_steps_become_the_encounters_narrative_and_the_teams_visit_a_location_with_its_period_and_it_validates()
    {
        var alarm = Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f20", AlarmType.Fall, "Hjulpet opp.");
        var dispatchId = "0193-dispatch";
        HandlingStep S(string kind, int seconds, string by, string? toWhom = null, string? outcome = null, string? text = null, string? dispatch = null) =>
            StoreContractTests.Step(alarm.AlarmId, kind, alarm.AcceptedAt!.Value.AddSeconds(seconds), by, toWhom, outcome, text, dispatch);
        var steps = new[]
        {
            S(HandlingKind.Call, 10, "operator-117", "beboer", CallOutcome.NoAnswer),
            S(HandlingKind.Call, 30, "operator-117", "datter", CallOutcome.Reached, "Datter har ikke nøkkel <nå>"),
            S(HandlingKind.Dispatch, 40, "operator-117", "Hjemmetjenesten Nord", dispatch: dispatchId),
            S(HandlingKind.OnTheWay, 60, "Hjemmetjenesten Nord", dispatch: dispatchId),
            S(HandlingKind.Arrived, 200, "Hjemmetjenesten Nord", dispatch: dispatchId),
            S(HandlingKind.Done, 280, "Hjemmetjenesten Nord", dispatch: dispatchId),
        };

        var resources = FhirExport.ForAlarm(alarm, Homes["gw-0042"], "centre-oslo", null, handling: steps).ToList();
        var encounter = Assert.IsType<Encounter>(resources[1].Resource);
        Assert.Equal(Encounter.EncounterStatus.Finished, encounter.Status);
        Assert.Equal(new FhirDateTime(alarm.AcceptedAt!.Value).Value, encounter.Period!.Start);
        Assert.Equal(new FhirDateTime(alarm.ClosedAt!.Value).Value, encounter.Period.End);
        var div = encounter.Text!.Div ?? "";
        Assert.Contains("Ringte beboer – svarte ikke", div, StringComparison.Ordinal);
        Assert.Contains("Ringte datter – nådd: «Datter har ikke nøkkel &lt;nå&gt;»", div, StringComparison.Ordinal);
        Assert.Contains("Sendte Hjemmetjenesten Nord (operatør operator-117)", div, StringComparison.Ordinal);
        Assert.Contains("På vei (Hjemmetjenesten Nord)", div, StringComparison.Ordinal);
        Assert.Contains("Ankommet (tilstede) (Hjemmetjenesten Nord)", div, StringComparison.Ordinal);
        Assert.Contains("Ferdig (Hjemmetjenesten Nord)", div, StringComparison.Ordinal);
        Assert.True(div.IndexOf("Ringte beboer", StringComparison.Ordinal) < div.IndexOf("Ferdig", StringComparison.Ordinal));
        var visit = Assert.Single(encounter.Location, l => l.Period is not null);
        Assert.Equal(Encounter.EncounterLocationStatus.Completed, visit.Status);
        Assert.Equal(new FhirDateTime(steps[4].At).Value, visit.Period!.Start);
        Assert.Equal(new FhirDateTime(steps[5].At).Value, visit.Period.End);
        Assert.Contains("Kunde 1042", visit.Location!.Display, StringComparison.Ordinal);

        var issues = Validate(encounter, FhirExport.EncounterProfile);
        output.WriteLine(Describe(issues));
        Assert.True(!Errors(issues).Any(), Describe(Errors(issues)));
        var bundle = FhirExport.Build([alarm], Homes, "centre-oslo", T0.AddHours(1), null, handling: steps);
        Assert.Empty(Errors(Validate(bundle)));
    }

    [Fact]
    public void The_validator_finds_an_alert_code_outside_the_vkp_value_set_and_a_missing_patient()
    {
        var resources = FhirExport.ForAlarm(Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12", AlarmType.Fall, null), null, "centre-oslo").ToList();
        var issue = Assert.IsType<DetectedIssue>(resources[0].Resource);
        Assert.Empty(Errors(Validate(issue, FhirExport.DetectedIssueProfile)));

        var wrongCode = (DetectedIssue)issue.DeepCopy();
        wrongCode.Code!.Coding[0].Code = "9.99";
        Assert.NotEmpty(Errors(Validate(wrongCode, FhirExport.DetectedIssueProfile)));

        var noPatient = (DetectedIssue)issue.DeepCopy();
        noPatient.Patient = null;
        Assert.NotEmpty(Errors(Validate(noPatient, FhirExport.DetectedIssueProfile)));
    }

    /// <summary>
    /// docs/examples/fhir/alarm-bundle.json is what the exporter makes for two closed alarms, kept equal to its output
    /// here, and it validates. To regenerate after a deliberate change of the export:
    /// <c>CENTRE_WRITE_EXAMPLES=1 dotnet test tests/CareGateway.ResponseCentre.Tests --filter FullyQualifiedName~FhirValidationTests</c>.
    /// </summary>
    [Fact]
    public void The_example_bundle_in_the_docs_is_the_exporters_output_and_validates()
    {
        var alarms = new[]
        {
            Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f12", AlarmType.Fall, "Ringte beboer, som lå på gulvet på badet. Hjemmetjenesten sendt; beboer hjulpet opp, ingen skade.") with { Room = "bathroom", Reason = "fall detected by the bathroom's fall sensor" },
            Closed("019ab3c4-5d60-7e21-9f3a-2b4c6d8e0f13", AlarmType.Wandering, null) with { Room = "hallway", Reason = "outer door opened at night, no return within 10 min" },
        };
        var bundle = FhirExport.Build(alarms, Homes, "centre-oslo", T0.AddHours(1), residents: Residents);
        var json = FhirExport.ToJson(bundle) + "\n";
        var path = RepoFiles.PathOf("docs", "examples", "fhir", "alarm-bundle.json");
        if (Environment.GetEnvironmentVariable("CENTRE_WRITE_EXAMPLES") == "1")
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, json);
        }

        Assert.True(File.Exists(path), $"{path} is missing: write it with CENTRE_WRITE_EXAMPLES=1 (see this test's summary)");
        Assert.True(
            File.ReadAllText(path).ReplaceLineEndings("\n") == json,
            "docs/examples/fhir/alarm-bundle.json differs from the exporter's output: regenerate it with CENTRE_WRITE_EXAMPLES=1 (see this test's summary)");

        var fromDocs = System.Text.Json.JsonSerializer.Deserialize<Resource>(File.ReadAllText(path), FhirExport.JsonOptions)!;
        var issues = Validate(fromDocs);
        Assert.True(!Errors(issues).Any(), Describe(Errors(issues)));
    }
}
