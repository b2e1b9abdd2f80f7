// Country → data region, as the API decides it (shared/identity/regions.py): the EU/EEA,
// Switzerland, the United Kingdom and the EU's own outermost regions are `eu`; every other
// country is `us`. Shown before creating an organisation; the API's answer is authoritative.
export const EU_COUNTRIES = new Set(
  (
    "AT BE BG HR CY CZ DK EE FI FR DE GR HU IE IT LV LT LU MT NL PL PT RO SK SI ES SE " +
    "IS LI NO CH GB AX GF GP MQ RE YT MF"
  ).split(" "),
);

export const COUNTRIES = (
  "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ " +
  "CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR " +
  "GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP " +
  "KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT " +
  "MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW " +
  "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG " +
  "UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW"
).split(" ");

const names = new Intl.DisplayNames(undefined, { type: "region" });

export function countryName(code: string): string {
  try {
    return names.of(code) ?? code;
  } catch {
    return code;
  }
}

export function regionOf(code: string): "eu" | "us" {
  return EU_COUNTRIES.has(code) ? "eu" : "us";
}

export function regionExplanation(code: string): string {
  return regionOf(code) === "eu"
    ? `${countryName(code)} is in the EU/EEA, Switzerland or the UK: the organisation's data is stored and processed in the EU region only, and never leaves it.`
    : `${countryName(code)} is outside the EU/EEA, Switzerland and the UK: the organisation's data is stored and processed in the US region only.`;
}
