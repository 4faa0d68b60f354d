#!/usr/bin/env bash
# Prints the image reference the Helm chart deploys by default:
# values.yaml image.repository + ":" + Chart.yaml appVersion.
set -euo pipefail
cd "$(dirname "$0")/../.."
node --input-type=module -e "
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
const values = parse(readFileSync('charts/natplan/values.yaml', 'utf8'));
const chart = parse(readFileSync('charts/natplan/Chart.yaml', 'utf8'));
console.log(values.image.repository + ':' + (values.image.tag || chart.appVersion));
"
