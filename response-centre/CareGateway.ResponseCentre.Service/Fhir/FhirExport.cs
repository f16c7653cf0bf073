using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using CareGateway.Protocol;
using CareGateway.ResponseCentre.Service.Storage;
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;

namespace CareGateway.ResponseCentre.Service.Fhir;

/// <summary>
/// Closed alarms as FHIR R4 for the welfare-technology hub (VKP 0.9.0): the alarm as a <c>DetectedIssue</c> in the VKP
/// profile (VKP alert code, triage), the centre's follow-up as an <c>Encounter</c>, the operator's note as a
/// <c>Composition</c>, together in a <c>Bundle</c> when there is more than one resource.
/// <para>
/// The patient is the home's first resident when the home has a resident record (<see cref="Homes.HomeRecord"/>): a
/// <c>Patient</c> in the VKP profile with the national identity number (fødselsnummer or D-nummer) and the name, and
/// nothing more (no address, key safe or contacts: the record has them, the export need not carry them). A home without
/// a record is a logical reference by its gateway id (<see cref="HomeIdentifierSystem"/>), which the municipality
/// resolves before sending (see docs/response-centre.md).
/// </para>
/// </summary>
public static class FhirExport
{
    public const string DetectedIssueProfile = "http://ehelse.no/fhir/StructureDefinition/vkp-DetectedIssue-v090";
    public const string EncounterProfile = "http://ehelse.no/fhir/StructureDefinition/vkp-Encounter-v090";
    public const string CompositionProfile = "http://ehelse.no/fhir/StructureDefinition/vkp-Composition-v090";
    /// <summary>
    /// The Norwegian base Patient profile. VKP 0.9.0's own vkp-Patient cannot be expanded as published (its
    /// <c>extension:nationality</c> slice names no extension profile, so no validator can build its snapshot); the
    /// DetectedIssue profile accepts a no-basis Patient as its subject.
    /// </summary>
    public const string PatientProfile = "http://hl7.no/fhir/StructureDefinition/no-basis-Patient";

    /// <summary>Norwegian national identity numbers: fødselsnummer (FNR) and D-nummer (first digit 4-7).</summary>
    public const string FnrSystem = "urn:oid:2.16.578.1.12.4.1.4.1";
    public const string DnrSystem = "urn:oid:2.16.578.1.12.4.1.4.2";
    public const string EncounterModeSystem = "http://ehelse.no/fhir/CodeSystem/vkp-encounter-mode-v090";
    public const string EncounterClassCoreSystem = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
    public const string EncounterReasonSystem = "http://ehelse.no/fhir/CodeSystem/vkp-encounter-reason-v090";
    public const string CompositionCategorySystem = "http://ehelse.no/fhir/CodeSystem/vkp-composition-category-v090";
    public const string CompositionSectionSystem = "http://ehelse.no/fhir/CodeSystem/vkp-composition-section-v090";

    /// <summary>Identifier system for a home (the gateway id) until the municipality maps it to the resident.</summary>
    public const string HomeIdentifierSystem = "urn:care-gateway:gateway-id";

    /// <summary>Identifier system for the centre's operator ids (not HPR numbers).</summary>
    public const string OperatorIdentifierSystem = "urn:care-gateway:operator-id";

    private static readonly JsonSerializerOptions Json = new JsonSerializerOptions { WriteIndented = true }.ForFhir(ModelInfo.ModelInspector);

    public static JsonSerializerOptions JsonOptions => Json;

    /// <summary>Closed care alarms from gateways; technical alarms, tests and alarms the resident cancelled are not journaled.</summary>
    public static bool IsExportable(StoredAlarm a) =>
        a.Origin == AlarmOrigin.Gateway && a.Status == HandlingStatus.Closed && a.State == AlarmState.Raised
        && AlarmCatalog.IsKnown(a.Type) && !AlarmCatalog.Get(a.Type).Technical;

    /// <summary>One resource alone, or a <c>collection</c> Bundle of all of them.</summary>
    /// <param name="residents">The homes' resident records, by gateway id: a home's first resident is the Patient.</param>
    /// <param name="handling">The alarms' handling steps (issue 18), of any of them, in time order; none when null.</param>
    public static Resource Build(IReadOnlyList<StoredAlarm> alarms, IReadOnlyDictionary<string, GatewayRecord> gateways, string centreId, DateTimeOffset now, TimeZoneInfo? zone = null, IReadOnlyDictionary<string, Homes.HomeRecord>? residents = null, IReadOnlyList<HandlingStep>? handling = null)
    {
        var byAlarm = (handling ?? []).GroupBy(s => s.Key).ToDictionary(g => g.Key, g => (IReadOnlyList<HandlingStep>)[.. g.OrderBy(s => s.At)]);
        var entries = new List<(string FullUrl, Resource Resource)>();
        var patients = new HashSet<string>(StringComparer.Ordinal);
        foreach (var a in alarms)
        {
            if (!IsExportable(a))
            {
                throw new ArgumentException($"alarm {a.AlarmId}: only closed care alarms are exported (status {a.Status}, type {a.Type})", nameof(alarms));
            }

            gateways.TryGetValue(a.GatewayId, out var home);
            foreach (var entry in ForAlarm(a, home, centreId, zone, residents?.GetValueOrDefault(a.GatewayId), byAlarm.GetValueOrDefault(a.Key)))
            {
                // A home's Patient once per bundle, however many of its alarms are in it.
                if (entry.Resource is not Patient || patients.Add(entry.FullUrl))
                {
                    entries.Add(entry);
                }
            }
        }

        if (entries.Count == 1)
        {
            return entries[0].Resource;
        }

        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Collection,
            Timestamp = now,
            Identifier = new Identifier("urn:ietf:rfc:3986", Urn("bundle:" + string.Join(",", alarms.Select(Key)))),
        };
        foreach (var (fullUrl, resource) in entries)
        {
            bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = fullUrl, Resource = resource });
        }

        return bundle;
    }

    public static string ToJson(Resource resource) => JsonSerializer.Serialize(resource, Json);

    /// <summary>
    /// One closed alarm as a FHIR <c>transaction</c> Bundle for the VKP sender (issue 18): its resources as
    /// <see cref="ForAlarm"/> makes them, each a conditional create (<c>POST</c> with <c>ifNoneExist</c> on its stable
    /// identifier), so a bundle sent twice (a retry after an answer that was lost) creates nothing the second time, and
    /// the references between them (<c>urn:uuid</c> full URLs) are resolved by the server as one unit.
    /// </summary>
    public static Bundle Transaction(StoredAlarm a, GatewayRecord? home, string centreId, DateTimeOffset now, TimeZoneInfo? zone = null, Homes.HomeRecord? record = null, IReadOnlyList<HandlingStep>? handling = null)
    {
        // The resident goes as a conditional create by national identity number; without one there is nothing to match
        // an existing Patient on, so the home is referred to by its gateway id, as without a record.
        var resident = record is { IsUnreadable: false, Residents: [{ NationalId: not null }, ..] } ? record : null;
        if (!IsExportable(a))
        {
            throw new ArgumentException($"alarm {a.AlarmId}: only closed care alarms are sent (status {a.Status}, type {a.Type})", nameof(a));
        }

        var bundle = new Bundle
        {
            Type = Bundle.BundleType.Transaction,
            Timestamp = now,
            Identifier = new Identifier("urn:ietf:rfc:3986", Urn("transaction:" + Key(a))),
        };
        foreach (var (fullUrl, resource) in ForAlarm(a, home, centreId, zone, resident, handling))
        {
            var identifier = resource switch
            {
                Patient p => p.Identifier[0],
                DetectedIssue d => d.Identifier[0],
                Encounter e => e.Identifier[0],
                Composition { Identifier: { } c } => c,
                _ => throw new InvalidOperationException("unexpected resource " + resource.TypeName),
            };
            bundle.Entry.Add(new Bundle.EntryComponent
            {
                FullUrl = fullUrl,
                Resource = resource,
                Request = new Bundle.RequestComponent
                {
                    Method = Bundle.HTTPVerb.POST,
                    Url = resource.TypeName,
                    IfNoneExist = $"identifier={identifier.System}|{identifier.Value}",
                },
            });
        }

        return bundle;
    }

    /// <summary>The resources for one closed alarm, each with a stable <c>urn:uuid</c> full URL.</summary>
    /// <param name="record">The home's resident record: its first resident is the Patient (else the home by its gateway id).</param>
    /// <param name="handling">
    /// The alarm's handling steps (issue 18): each becomes a line of the Encounter's narrative, and a team's time in the
    /// home (arrived to done) a location of the Encounter with its period.
    /// </param>
    public static IEnumerable<(string FullUrl, Resource Resource)> ForAlarm(StoredAlarm a, GatewayRecord? home, string centreId, TimeZoneInfo? zone = null, Homes.HomeRecord? record = null, IReadOnlyList<HandlingStep>? handling = null)
    {
        zone ??= Oslo;
        handling ??= [];
        var info = AlarmCatalog.Get(a.Type);
        var issueUrl = Urn("issue:" + Key(a));
        var encounterUrl = Urn("encounter:" + Key(a));
        var resident = record is { IsUnreadable: false, Residents.Count: > 0 } ? record.Residents[0] : null;
        ResourceReference patient;
        if (resident is not null)
        {
            var patientUrl = Urn("patient:" + a.GatewayId + "/" + (resident.NationalId ?? resident.Name));
            patient = new ResourceReference(patientUrl, resident.Name);
            yield return (patientUrl, PatientOf(resident));
        }
        else
        {
            patient = new ResourceReference
            {
                Identifier = new Identifier(HomeIdentifierSystem, a.GatewayId),
                Display = home?.Label ?? a.GatewayId,
            };
        }

        var issue = new DetectedIssue
        {
            Meta = new Meta { Profile = [DetectedIssueProfile] },
            Identifier = [new Identifier("urn:ietf:rfc:3986", Guid.TryParse(a.AlarmId, out _) ? "urn:uuid:" + a.AlarmId : Urn("alarm:" + a.AlarmId))],
            Text = Narrate(
                $"Alarm: {info.VkpDisplay} (VKP {info.VkpCode})",
                $"Triage: {TriageName(a.Triage)}",
                $"Utløst: {Local(a.RaisedAt, zone)}",
                $"Hjem: {resident?.Name ?? home?.Label ?? a.GatewayId}" + (a.Room is { } r ? $", rom: {r}" : ""),
                a.Reason),
            Status = ObservationStatus.Final,
            // From the catalogue by type: a code a gateway once sent that contradicts the type never reaches the record.
            Code = new CodeableConcept(AlarmCatalog.VkpAlertCodeSystem, info.VkpCode, info.VkpDisplay, null),
            Severity = a.Triage switch
            {
                Triage.Red or Triage.Orange => DetectedIssue.DetectedIssueSeverity.High,
                Triage.Yellow => DetectedIssue.DetectedIssueSeverity.Moderate,
                _ => DetectedIssue.DetectedIssueSeverity.Low,
            },
            Patient = patient,
            Identified = new FhirDateTime(a.RaisedAt),
            Detail = a.Reason,
            // VKP 0.9.0 publishes the triage code system but binds it to no element; it travels as evidence.
            Evidence =
            [
                new DetectedIssue.EvidenceComponent { Code = [new CodeableConcept(AlarmCatalog.VkpTriageCodeSystem, a.Triage)] },
                new DetectedIssue.EvidenceComponent { Detail = [new ResourceReference(encounterUrl)] },
            ],
        };
        yield return (issueUrl, issue);

        var encounter = new Encounter
        {
            Meta = new Meta { Profile = [EncounterProfile] },
            Identifier = [new Identifier("urn:ietf:rfc:3986", encounterUrl)],
            Text = Narrate([
                $"Oppfølging av alarm: {info.VkpDisplay}",
                $"Mottatt: {Local(a.ReceivedAt, zone)}" + (a.AcceptedAt is { } acc ? $", tatt imot av operatør: {Local(acc, zone)}" : ""),
                .. handling.Select(s => $"{Local(s.At, zone)}: " + Web.HandlingPages.StepLine(Web.Texts.Bokmal, s, s.DispatchId is not null && s.Kind != HandlingKind.Dispatch ? s.By : null)
                    + (s.Kind is HandlingKind.Call or HandlingKind.Dispatch ? $" (operatør {s.By})" : "")),
                $"Avsluttet: {Local(a.ClosedAt!.Value, zone)} av {a.ClosedBy ?? a.AcceptedBy}" + (a.Outcome is { } o ? $" ({o})" : ""),
                $"Responssenter: {centreId}"]),
            Status = Encounter.EncounterStatus.Finished,
            // What the centre did: handled it at a distance (the operator, from the centre). VKP's own encounter-class
            // codes name supervision technologies (camera, listening, two-way voice) that this system does not run,
            // so the class is the core one for a remote encounter.
            Class = new Coding(EncounterClassCoreSystem, "VR", "virtual"),
            Subject = patient,
            Participant =
            [
                new Encounter.ParticipantComponent
                {
                    // Required (1..1) from VKP's encounter modes; the operator's follow-up is a conversation with the
                    // resident or the people around them, by telephone: two-way voice, not the alarm unit's speaker.
                    Type = [new CodeableConcept(EncounterModeSystem, "2", "toveis tale", null)],
                    Individual = new ResourceReference { Identifier = new Identifier(OperatorIdentifierSystem, a.ClosedBy ?? a.AcceptedBy), Display = a.ClosedBy ?? a.AcceptedBy },
                },
            ],
            Period = new Period(new FhirDateTime(a.AcceptedAt ?? a.ReceivedAt), new FhirDateTime(a.ClosedAt!.Value)),
            ReasonCode = [new CodeableConcept(EncounterReasonSystem, "2", "hendelsesbasert tilsyn", null)],
            ServiceProvider = new ResourceReference { Identifier = new Identifier("urn:care-gateway:centre-id", centreId), Display = centreId },
        };
        if (a.Room is { } room)
        {
            encounter.Location = [new Encounter.LocationComponent { Location = new ResourceReference { Display = room } }];
        }

        // A team in the home (the presence registration): the home as a location of the encounter, for the time it was
        // there. VKP binds a participant's type to its encounter modes (image, two-way voice, listening), none of
        // which is a visit, so the team is not a participant; it is named here and in the narrative.
        foreach (var visit in handling.Where(s => s.Kind == HandlingKind.Arrived && s.DispatchId is not null))
        {
            var left = handling.FirstOrDefault(s => s.Kind == HandlingKind.Done && s.DispatchId == visit.DispatchId)?.At ?? a.ClosedAt!.Value;
            encounter.Location.Add(new Encounter.LocationComponent
            {
                Location = new ResourceReference { Display = $"Hjemmebesøk: {home?.Label ?? a.GatewayId} ({visit.By})" },
                Status = Encounter.EncounterLocationStatus.Completed,
                Period = new Period(new FhirDateTime(visit.At), new FhirDateTime(left < visit.At ? visit.At : left)),
            });
        }

        yield return (encounterUrl, encounter);

        if (a.Note is { Length: > 0 } note)
        {
            var composition = new Composition
            {
                Meta = new Meta { Profile = [CompositionProfile] },
                Identifier = new Identifier("urn:ietf:rfc:3986", Urn("composition:" + Key(a))),
                Text = Narrate("Oppfølging av alarm", note),
                Status = CompositionStatus.Final,
                Type = new CodeableConcept("http://loinc.org", "34109-9", "Note", null),
                Category = [new CodeableConcept(CompositionCategorySystem, "1", "Trygghet og mestring", null)],
                Subject = patient,
                Encounter = new ResourceReference(encounterUrl),
                Date = new FhirDateTime(a.ClosedAt!.Value).Value,
                Author = [new ResourceReference { Identifier = new Identifier(OperatorIdentifierSystem, a.ClosedBy), Display = a.ClosedBy }],
                Title = "Oppfølging av alarm",
                Section =
                [
                    new Composition.SectionComponent
                    {
                        Title = "Beskrivelse av oppfølging",
                        Code = new CodeableConcept(CompositionSectionSystem, "1.1", "beskrivelse av oppfølging", null),
                        Text = Narrate(note),
                        Entry = [new ResourceReference(issueUrl)],
                    },
                ],
            };
            yield return (Urn("composition:" + Key(a)), composition);
        }
    }

    /// <summary>The resident as a VKP Patient: the national identity number (when known), the name and the language to speak.</summary>
    private static Patient PatientOf(Homes.Resident r)
    {
        var words = r.Name.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var patient = new Patient
        {
            Meta = new Meta { Profile = [PatientProfile] },
            Text = Narrate($"Pasient: {r.Name}", r.NationalId is null ? "Fødselsnummer ikke registrert" : null),
            Name = [new HumanName { Use = HumanName.NameUse.Official, Text = r.Name, Family = words.Length > 1 ? words[^1] : r.Name, Given = words.Length > 1 ? words[..^1] : [] }],
        };
        if (r.NationalId is { } id)
        {
            patient.Identifier = [new Identifier(id[0] is >= '4' and <= '7' ? DnrSystem : FnrSystem, id) { Use = Identifier.IdentifierUse.Official }];
        }

        if (r.Language is { } lang)
        {
            patient.Communication = [new Patient.CommunicationComponent { Language = new CodeableConcept("urn:ietf:bcp:47", lang), Preferred = true }];
        }

        return patient;
    }

    /// <summary>
    /// What names an alarm's resources: its gateway and its id, as the centre keys alarms (issue 19 finding 1), so two
    /// homes that sent the same id never share a resource in the record.
    /// </summary>
    private static string Key(StoredAlarm a) => a.GatewayId + "/" + a.AlarmId;

    private static readonly TimeZoneInfo Oslo = TimeZoneInfo.FindSystemTimeZoneById("Europe/Oslo");

    /// <summary>A generated narrative (status <c>generated</c>): one paragraph per line, escaped.</summary>
    private static Narrative Narrate(params IEnumerable<string?> lines) => new()
    {
        Status = Narrative.NarrativeStatus.Generated,
        Div = "<div xmlns=\"http://www.w3.org/1999/xhtml\">"
            + string.Concat(lines.Where(l => !string.IsNullOrWhiteSpace(l)).Select(l => "<p>" + System.Security.SecurityElement.Escape(l) + "</p>"))
            + "</div>",
    };

    /// <summary>Local time as a person reads it, with its offset (the record is read in Norway).</summary>
    private static string Local(DateTimeOffset t, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(t, zone).ToString("dd.MM.yyyy HH:mm:ss zzz", System.Globalization.CultureInfo.InvariantCulture);

    private static string TriageName(string triage) => triage switch
    {
        Triage.Red => "rød (R)",
        Triage.Orange => "oransje (O)",
        Triage.Yellow => "gul (Y)",
        Triage.Green => "grønn (G)",
        Triage.Blue => "blå (B)",
        _ => triage,
    };

    /// <summary>A stable <c>urn:uuid</c> from a name (so a re-export gives the same ids and the hub can de-duplicate).</summary>
    private static string Urn(string name)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes("care-gateway:" + name));
        hash[6] = (byte)((hash[6] & 0x0F) | 0x50); // version 5-style (name based)
        hash[8] = (byte)((hash[8] & 0x3F) | 0x80); // RFC 4122 variant
        return "urn:uuid:" + new Guid(hash.AsSpan(0, 16), bigEndian: true).ToString();
    }
}
