// Input parameters in the submit dialog: the table prefilled from the notebook's
// parameters cell, rows added by hand, and the text form (which wins over the table).

import type { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';
import type { IFormState } from './form';
import { Field, Update } from './formParts';

export function ParameterFields(props: { state: IFormState; update: Update; error?: string; __: TranslationBundle['__'] }): JSX.Element {
  const { state, update, __ } = props;
  return (
    <fieldset className="nx-Parameters">
      <legend>{__('Input parameters')}</legend>
      <table className="nx-ParameterTable">
        <thead>
          <tr>
            <th scope="col">{__('Name')}</th>
            <th scope="col">{__('Value')}</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {state.rows.map((row, i) => (
            <tr key={i}>
              <td>
                {row.initial !== undefined ? (
                  <span title={row.help}>{row.name}</span>
                ) : (
                  <input
                    className="jp-mod-styled"
                    aria-label={__('Parameter name')}
                    value={row.name}
                    onChange={e => update({ rows: state.rows.map((r, j) => (j === i ? { ...r, name: e.target.value } : r)) })}
                  />
                )}
              </td>
              <td>
                <input
                  className="jp-mod-styled"
                  aria-label={__('Value of %1', row.name)}
                  data-parameter={row.name}
                  value={row.value}
                  onChange={e => update({ rows: state.rows.map((r, j) => (j === i ? { ...r, value: e.target.value } : r)) })}
                />
              </td>
              <td>
                {row.initial === undefined && (
                  <button type="button" className="jp-mod-styled nx-SmallButton" aria-label={__('Remove')} onClick={() => update({ rows: state.rows.filter((_, j) => j !== i) })}>
                    ×
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className="jp-mod-styled nx-SmallButton" onClick={() => update({ rows: [...state.rows, { name: '', value: '' }] })}>
        {__('Add parameter')}
      </button>
      <Field id="nx-parameter-text" label={__('Or as text')} hint={__('e.g. optimizer="SGD",learning_rate=0.01 (wins over the table)')} error={props.error}>
        <input className="jp-mod-styled" value={state.parameter_text} onChange={e => update({ parameter_text: e.target.value })} />
      </Field>
    </fieldset>
  );
}
