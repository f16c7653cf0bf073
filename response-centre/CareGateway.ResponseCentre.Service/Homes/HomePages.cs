using System.Globalization;
using System.Text;
using CareGateway.ResponseCentre.Service.Storage;
using CareGateway.ResponseCentre.Service.Web;
using static CareGateway.ResponseCentre.Service.Web.Html;

namespace CareGateway.ResponseCentre.Service.Homes;

/// <summary>The home page (<c>/homes/{gateway}</c>): the resident record, read by everyone, edited by an admin.</summary>
public static class HomePages
{
    public static string Home(PageContext p, string gatewayId, GatewayRecord? gateway, HomeRecord? record, IReadOnlyList<string> errors, IReadOnlyList<GatewayCommandRecord>? commands = null)
    {
        var title = string.Format(CultureInfo.InvariantCulture, p.T("home.title"), gateway?.Label ?? gatewayId);
        var body = new StringBuilder();
        if (errors.Count > 0)
        {
            body.Append(CultureInfo.InvariantCulture, $"""<div class="error" role="alert"><p>{E(p.T("home.errors"))}</p><ul>{string.Concat(errors.Select(e => $"<li>{E(e)}</li>"))}</ul></div>""");
        }

        if (record is { IsUnreadable: true })
        {
            body.Append(CultureInfo.InvariantCulture, $"""<p class="error" role="alert">{E(p.T("home.unreadable"))}</p>""");
            body.Append(HomeCommands.Section(p, gatewayId, commands ?? []));
            return Layout(p, "gateways", title, body.ToString());
        }

        body.Append(CultureInfo.InvariantCulture, $"<p><small>{E(p.T("gateway"))}: {E(gatewayId)}{(gateway?.HomeGroup is { } g ? " · " + E(g) : "")}</small></p>");
        body.Append(p.IsAdmin ? Form(p, gatewayId, record ?? new HomeRecord()) : View(p, record));
        body.Append(HomeCommands.Section(p, gatewayId, commands ?? []));
        return Layout(p, "gateways", title, body.ToString());
    }

    /// <summary>What the operator who took an alarm needs of the home, at once: who, where, how to get in, what to do, whom to call.</summary>
    public static string AlarmCard(PageContext p, HomeRecord record, bool accepted)
    {
        if (record.IsUnreadable)
        {
            return $"<small class=\"error\">{E(p.T("home.unreadable.short"))}</small>";
        }

        var sb = new StringBuilder();
        if (record.Instructions is { } todo)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<p class=\"instructions\"><strong>{E(p.T("home.instructions"))}:</strong> {E(todo)}</p>");
        }

        if (accepted)
        {
            // Only once an operator has the alarm: how to get in, and whom to call.
            if (record.KeySafe is { } key)
            {
                sb.Append(CultureInfo.InvariantCulture, $"<p class=\"key-safe\"><strong>{E(p.T("home.keysafe"))}:</strong> {E(key)}</p>");
            }

            if (record.Contacts.Count > 0)
            {
                sb.Append("<ol class=\"contacts\">");
                foreach (var c in record.Contacts)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"<li>{E(c.Name)} <small>({E(p.T("contact." + c.Kind))}{(c.Note is { } n ? ", " + E(n) : "")})</small> <a href=\"tel:{E(c.Phone.Replace(" ", "", StringComparison.Ordinal))}\">{E(c.Phone)}</a></li>");
                }

                sb.Append("</ol>");
            }
        }

        return sb.ToString();
    }

    private static string View(PageContext p, HomeRecord? record)
    {
        if (record is null)
        {
            return $"<p>{E(p.T("home.none"))}</p>";
        }

        var sb = new StringBuilder("<dl class=\"home\">");
        foreach (var r in record.Residents)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<dt>{E(p.T("home.resident"))}</dt><dd>{E(r.Name)}{(r.Language is { } l ? $" <small>({E(l)})</small>" : "")}{(r.NationalId is { } id ? $"<br><small>{E(p.T("home.nationalid"))}: {E(id)}</small>" : "")}</dd>");
        }

        sb.Append(CultureInfo.InvariantCulture, $"<dt>{E(p.T("home.address"))}</dt><dd>{E(record.Address)}</dd>");
        sb.Append(CultureInfo.InvariantCulture, $"<dt>{E(p.T("home.keysafe"))}</dt><dd>{E(record.KeySafe)}</dd>");
        sb.Append(CultureInfo.InvariantCulture, $"<dt>{E(p.T("home.instructions"))}</dt><dd class=\"instructions\">{E(record.Instructions)}</dd>");
        sb.Append("</dl>");
        sb.Append(AlarmCard(p, record with { Instructions = null, KeySafe = null }, accepted: true));
        return sb.ToString();
    }

    private static string Form(PageContext p, string gatewayId, HomeRecord record)
    {
        var action = "/homes/" + Uri.EscapeDataString(gatewayId);
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"""<form method="post" action="{E(action)}" class="card home-form">{p.Csrf}""");
        sb.Append(CultureInfo.InvariantCulture, $"<fieldset><legend>{E(p.T("home.residents"))}</legend>");
        for (var i = 0; i < Math.Min(HomeForm.MaxResidents, record.Residents.Count + 1); i++)
        {
            var r = i < record.Residents.Count ? record.Residents[i] : null;
            sb.Append(CultureInfo.InvariantCulture, $"""
                <div class="row">
                  <label>{E(p.T("home.name"))}<input name="r{i}.name" maxlength="{HomeForm.MaxLine}" value="{E(r?.Name)}"></label>
                  <label>{E(p.T("home.nationalid"))}<input name="r{i}.nationalId" inputmode="numeric" maxlength="13" value="{E(r?.NationalId)}" autocomplete="off"></label>
                  <label>{E(p.T("home.language"))}<input name="r{i}.language" maxlength="20" size="4" value="{E(r?.Language ?? (r is null ? "" : "nb"))}"></label>
                </div>
                """);
        }

        sb.Append("</fieldset>");
        sb.Append(CultureInfo.InvariantCulture, $"""
            <fieldset><legend>{E(p.T("home.address"))}</legend>
              <label>{E(p.T("home.street"))}<input name="street" maxlength="{HomeForm.MaxLine}" value="{E(record.Street)}"></label>
              <label>{E(p.T("home.postalcode"))}<input name="postalCode" inputmode="numeric" maxlength="4" size="4" value="{E(record.PostalCode)}"></label>
              <label>{E(p.T("home.city"))}<input name="city" maxlength="{HomeForm.MaxLine}" value="{E(record.City)}"></label>
            </fieldset>
            <label>{E(p.T("home.keysafe"))}<textarea name="keySafe" maxlength="{HomeForm.MaxKeySafe}" rows="2">{E(record.KeySafe)}</textarea></label>
            <label>{E(p.T("home.instructions"))}<textarea name="instructions" maxlength="{HomeForm.MaxInstructions}" rows="4">{E(record.Instructions)}</textarea></label>
            <fieldset><legend>{E(p.T("home.contacts"))}</legend>
            """);
        for (var i = 0; i < Math.Min(HomeForm.MaxContacts, record.Contacts.Count + 2); i++)
        {
            var c = i < record.Contacts.Count ? record.Contacts[i] : null;
            var kinds = string.Concat(ContactKinds.All.Select(k => $"<option value=\"{k}\"{(c?.Kind == k ? " selected" : "")}>{E(p.T("contact." + k))}</option>"));
            sb.Append(CultureInfo.InvariantCulture, $"""
                <div class="row">
                  <label>{E(p.T("home.name"))}<input name="c{i}.name" maxlength="{HomeForm.MaxLine}" value="{E(c?.Name)}"></label>
                  <label>{E(p.T("home.kind"))}<select name="c{i}.kind">{kinds}</select></label>
                  <label>{E(p.T("home.phone"))}<input name="c{i}.phone" type="tel" maxlength="30" value="{E(c?.Phone)}"></label>
                  <label>{E(p.T("home.note"))}<input name="c{i}.note" maxlength="{HomeForm.MaxLine}" value="{E(c?.Note)}"></label>
                </div>
                """);
        }

        sb.Append(CultureInfo.InvariantCulture, $"</fieldset><button class=\"primary\">{E(p.T("save"))}</button></form>");
        for (var i = 0; i < record.Residents.Count; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"""
                <form method="post" action="{E(action)}/residents/{i}/delete" class="inline delete-resident">{p.Csrf}
                  <button class="danger" title="{E(p.T("home.delete.help"))}">{E(string.Format(CultureInfo.InvariantCulture, p.T("home.delete"), record.Residents[i].Name))}</button>
                </form>
                """);
        }

        return sb.ToString();
    }
}
