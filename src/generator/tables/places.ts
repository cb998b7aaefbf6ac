/**
 * US places for synthetic addresses: state populations (2020 Census, thousands) and real cities
 * with a 3-digit ZIP prefix and an area code of that city, so state, city, ZIP and phone agree.
 * States are drawn by population (which reproduces the Census region mix: South ~38 %, West ~24 %,
 * Midwest ~21 %, Northeast ~17 %); a city is drawn uniformly within its state.
 * A few small towns sit in HIPAA-restricted ZIP3 areas (Ely NV 893, Rawlins WY 823) on purpose.
 */
export const STATE_POPULATION_THOUSANDS: Readonly<Record<string, number>> = {
  AL: 5024,
  AK: 733,
  AZ: 7152,
  AR: 3012,
  CA: 39538,
  CO: 5774,
  CT: 3606,
  DE: 990,
  DC: 690,
  FL: 21538,
  GA: 10712,
  HI: 1455,
  ID: 1839,
  IL: 12813,
  IN: 6786,
  IA: 3190,
  KS: 2938,
  KY: 4506,
  LA: 4658,
  ME: 1362,
  MD: 6177,
  MA: 7030,
  MI: 10077,
  MN: 5706,
  MS: 2961,
  MO: 6155,
  MT: 1084,
  NE: 1962,
  NV: 3105,
  NH: 1378,
  NJ: 9289,
  NM: 2118,
  NY: 20201,
  NC: 10439,
  ND: 779,
  OH: 11799,
  OK: 3959,
  OR: 4237,
  PA: 13003,
  RI: 1097,
  SC: 5118,
  SD: 887,
  TN: 6911,
  TX: 29146,
  UT: 3272,
  VT: 643,
  VA: 8631,
  WA: 7705,
  WV: 1794,
  WI: 5894,
  WY: 577,
};

export interface City {
  readonly city: string;
  readonly state: string;
  readonly zip3: string;
  readonly areaCode: string;
}

// prettier-ignore
const CITY_ROWS: readonly (readonly [string, string, string, string])[] = [
  ['Birmingham', 'AL', '352', '205'], ['Montgomery', 'AL', '361', '334'], ['Mobile', 'AL', '366', '251'],
  ['Huntsville', 'AL', '358', '256'], ['Anchorage', 'AK', '995', '907'], ['Fairbanks', 'AK', '997', '907'],
  ['Phoenix', 'AZ', '850', '602'], ['Tucson', 'AZ', '857', '520'], ['Mesa', 'AZ', '852', '480'],
  ['Flagstaff', 'AZ', '860', '928'], ['Little Rock', 'AR', '722', '501'], ['Fayetteville', 'AR', '727', '479'],
  ['Los Angeles', 'CA', '900', '213'], ['San Diego', 'CA', '921', '619'], ['San Jose', 'CA', '951', '408'],
  ['San Francisco', 'CA', '941', '415'], ['Fresno', 'CA', '937', '559'], ['Sacramento', 'CA', '958', '916'],
  ['Long Beach', 'CA', '908', '562'], ['Oakland', 'CA', '946', '510'], ['Bakersfield', 'CA', '933', '661'],
  ['Anaheim', 'CA', '928', '714'], ['Riverside', 'CA', '925', '951'], ['Santa Ana', 'CA', '927', '714'],
  ['Stockton', 'CA', '952', '209'], ['Irvine', 'CA', '926', '949'], ['Denver', 'CO', '802', '303'],
  ['Colorado Springs', 'CO', '809', '719'], ['Fort Collins', 'CO', '805', '970'], ['Hartford', 'CT', '061', '860'],
  ['New Haven', 'CT', '065', '203'], ['Bridgeport', 'CT', '066', '203'], ['Wilmington', 'DE', '198', '302'],
  ['Dover', 'DE', '199', '302'], ['Washington', 'DC', '200', '202'], ['Miami', 'FL', '331', '305'],
  ['Tampa', 'FL', '336', '813'], ['Orlando', 'FL', '328', '407'], ['Jacksonville', 'FL', '322', '904'],
  ['Tallahassee', 'FL', '323', '850'], ['Fort Lauderdale', 'FL', '333', '954'], ['St. Petersburg', 'FL', '337', '727'],
  ['Gainesville', 'FL', '326', '352'], ['Pensacola', 'FL', '325', '850'], ['Atlanta', 'GA', '303', '404'],
  ['Savannah', 'GA', '314', '912'], ['Augusta', 'GA', '309', '706'], ['Columbus', 'GA', '319', '706'],
  ['Macon', 'GA', '312', '478'], ['Honolulu', 'HI', '968', '808'], ['Hilo', 'HI', '967', '808'],
  ['Boise', 'ID', '837', '208'], ['Idaho Falls', 'ID', '834', '208'], ['Chicago', 'IL', '606', '312'],
  ['Aurora', 'IL', '605', '630'], ['Rockford', 'IL', '611', '815'], ['Springfield', 'IL', '627', '217'],
  ['Peoria', 'IL', '616', '309'], ['Indianapolis', 'IN', '462', '317'], ['Fort Wayne', 'IN', '468', '260'],
  ['Evansville', 'IN', '477', '812'], ['Des Moines', 'IA', '503', '515'], ['Cedar Rapids', 'IA', '524', '319'],
  ['Wichita', 'KS', '672', '316'], ['Overland Park', 'KS', '662', '913'], ['Topeka', 'KS', '666', '785'],
  ['Louisville', 'KY', '402', '502'], ['Lexington', 'KY', '405', '859'], ['New Orleans', 'LA', '701', '504'],
  ['Baton Rouge', 'LA', '708', '225'], ['Shreveport', 'LA', '711', '318'], ['Portland', 'ME', '041', '207'],
  ['Bangor', 'ME', '044', '207'], ['Baltimore', 'MD', '212', '410'], ['Rockville', 'MD', '208', '301'],
  ['Frederick', 'MD', '217', '301'], ['Boston', 'MA', '021', '617'], ['Worcester', 'MA', '016', '508'],
  ['Springfield', 'MA', '011', '413'], ['Cambridge', 'MA', '021', '617'], ['Detroit', 'MI', '482', '313'],
  ['Grand Rapids', 'MI', '495', '616'], ['Lansing', 'MI', '489', '517'], ['Ann Arbor', 'MI', '481', '734'],
  ['Minneapolis', 'MN', '554', '612'], ['St. Paul', 'MN', '551', '651'], ['Rochester', 'MN', '559', '507'],
  ['Jackson', 'MS', '392', '601'], ['Gulfport', 'MS', '395', '228'], ['Kansas City', 'MO', '641', '816'],
  ['St. Louis', 'MO', '631', '314'], ['Springfield', 'MO', '658', '417'], ['Billings', 'MT', '591', '406'],
  ['Missoula', 'MT', '598', '406'], ['Omaha', 'NE', '681', '402'], ['Lincoln', 'NE', '685', '402'],
  ['Las Vegas', 'NV', '891', '702'], ['Reno', 'NV', '895', '775'], ['Ely', 'NV', '893', '775'],
  ['Manchester', 'NH', '031', '603'], ['Concord', 'NH', '033', '603'], ['Newark', 'NJ', '071', '973'],
  ['Jersey City', 'NJ', '073', '201'], ['Trenton', 'NJ', '086', '609'], ['Paterson', 'NJ', '075', '973'],
  ['Albuquerque', 'NM', '871', '505'], ['Santa Fe', 'NM', '875', '505'], ['New York', 'NY', '100', '212'],
  ['Brooklyn', 'NY', '112', '718'], ['Buffalo', 'NY', '142', '716'], ['Rochester', 'NY', '146', '585'],
  ['Yonkers', 'NY', '107', '914'], ['Syracuse', 'NY', '132', '315'], ['Albany', 'NY', '122', '518'],
  ['Charlotte', 'NC', '282', '704'], ['Raleigh', 'NC', '276', '919'], ['Greensboro', 'NC', '274', '336'],
  ['Durham', 'NC', '277', '919'], ['Fargo', 'ND', '581', '701'], ['Bismarck', 'ND', '585', '701'],
  ['Columbus', 'OH', '432', '614'], ['Cleveland', 'OH', '441', '216'], ['Cincinnati', 'OH', '452', '513'],
  ['Toledo', 'OH', '436', '419'], ['Oklahoma City', 'OK', '731', '405'], ['Tulsa', 'OK', '741', '918'],
  ['Portland', 'OR', '972', '503'], ['Eugene', 'OR', '974', '541'], ['Salem', 'OR', '973', '503'],
  ['Philadelphia', 'PA', '191', '215'], ['Pittsburgh', 'PA', '152', '412'], ['Allentown', 'PA', '181', '610'],
  ['Erie', 'PA', '165', '814'], ['Harrisburg', 'PA', '171', '717'], ['Providence', 'RI', '029', '401'],
  ['Columbia', 'SC', '292', '803'], ['Charleston', 'SC', '294', '843'], ['Greenville', 'SC', '296', '864'],
  ['Sioux Falls', 'SD', '571', '605'], ['Rapid City', 'SD', '577', '605'], ['Nashville', 'TN', '372', '615'],
  ['Memphis', 'TN', '381', '901'], ['Knoxville', 'TN', '379', '865'], ['Chattanooga', 'TN', '374', '423'],
  ['Houston', 'TX', '770', '713'], ['San Antonio', 'TX', '782', '210'], ['Dallas', 'TX', '752', '214'],
  ['Austin', 'TX', '787', '512'], ['Fort Worth', 'TX', '761', '817'], ['El Paso', 'TX', '799', '915'],
  ['Arlington', 'TX', '760', '817'], ['Corpus Christi', 'TX', '784', '361'], ['Plano', 'TX', '750', '972'],
  ['Lubbock', 'TX', '794', '806'], ['Laredo', 'TX', '780', '956'], ['Salt Lake City', 'UT', '841', '801'],
  ['Provo', 'UT', '846', '801'], ['Burlington', 'VT', '054', '802'], ['Montpelier', 'VT', '056', '802'],
  ['Virginia Beach', 'VA', '234', '757'], ['Richmond', 'VA', '232', '804'], ['Norfolk', 'VA', '235', '757'],
  ['Arlington', 'VA', '222', '703'], ['Seattle', 'WA', '981', '206'], ['Spokane', 'WA', '992', '509'],
  ['Tacoma', 'WA', '984', '253'], ['Charleston', 'WV', '253', '304'], ['Huntington', 'WV', '257', '304'],
  ['Milwaukee', 'WI', '532', '414'], ['Madison', 'WI', '537', '608'], ['Green Bay', 'WI', '543', '920'],
  ['Cheyenne', 'WY', '820', '307'], ['Casper', 'WY', '826', '307'], ['Rawlins', 'WY', '823', '307'],
];

export const CITIES: readonly City[] = CITY_ROWS.map(([city, state, zip3, areaCode]) => ({
  city,
  state,
  zip3,
  areaCode,
}));

// prettier-ignore
export const STREET_NAMES = [
  'Main', 'Oak', 'Maple', 'Cedar', 'Pine', 'Elm', 'Washington', 'Lake', 'Hill', 'Park', 'Walnut', 'Sunset',
  'Lincoln', 'Jackson', 'Church', 'River', 'Highland', 'Willow', 'Franklin', 'Jefferson', 'Madison', 'Spring',
  'Ridge', 'Meadow', 'Forest', 'Chestnut', 'Center', 'Mill', 'Valley', 'Cherry', 'Broad', 'Union', 'Adams',
  'Dogwood', 'Hickory', 'Magnolia', 'Birch', 'Poplar', 'Sycamore', 'Prospect', 'College', 'Market', 'Water',
  'Front', 'Second', 'Third', 'Fourth', 'Fifth', 'Sixth', 'Seventh', 'Eighth', 'Ninth', 'Tenth', 'King',
] as const;

export const STREET_SUFFIXES = ['St', 'Ave', 'Rd', 'Dr', 'Ln', 'Blvd', 'Ct', 'Way', 'Pl', 'Ter'] as const;

export const EMAIL_DOMAINS = [
  'gmail.com',
  'yahoo.com',
  'outlook.com',
  'hotmail.com',
  'icloud.com',
  'aol.com',
  'comcast.net',
] as const;
export const EMAIL_DOMAIN_WEIGHTS = [46, 18, 12, 9, 8, 4, 3] as const;
